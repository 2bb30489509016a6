#include "refparsers.h"

#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QRegularExpression>
#include <QUrl>
#include <QXmlStreamReader>
#include <QtEndian>

#include <algorithm>
#include <array>

namespace farm::bundle::detail {
namespace {

QString percentDecoded(const QString &s)
{
    return QUrl::fromPercentEncoding(s.toUtf8());
}

// Calls `f(line)` for every line of `content`, without its line end.
template<typename F> void forEachLine(const QByteArray &content, F &&f)
{
    qsizetype start = 0;
    while (start < content.size()) {
        qsizetype end = content.indexOf('\n', start);
        if (end < 0)
            end = content.size();
        f(QByteArrayView(content).sliced(start, end - start).trimmed());
        start = end + 1;
    }
}

// ---- glTF: buffers[].uri and images[].uri ----

QList<RawRef> gltfJsonRefs(const QByteArray &json)
{
    QJsonParseError error;
    const QJsonDocument doc = QJsonDocument::fromJson(json, &error);
    if (error.error != QJsonParseError::NoError || !doc.isObject())
        return {};
    QList<RawRef> refs;
    for (const char *key : {"buffers", "images"}) {
        // glTF 2 lists them in arrays; glTF 1 in objects keyed by id.
        const QJsonValue list = doc.object().value(QLatin1String(key));
        QJsonArray entries = list.toArray();
        if (list.isObject())
            for (const QJsonValue &entry : list.toObject())
                entries.append(entry);
        for (const QJsonValue &entry : std::as_const(entries)) {
            const QString uri = entry.toObject().value(QLatin1String("uri")).toString().trimmed();
            if (uri.isEmpty() || uri.startsWith(QLatin1String("data:"), Qt::CaseInsensitive))
                continue;
            refs.append({uri, percentDecoded(uri), {}});
        }
    }
    return refs;
}

QList<RawRef> gltfRefs(const QByteArray &content)
{
    return gltfJsonRefs(content);
}

// A .glb is a 12-byte header and chunks; the first chunk is the JSON, which may still name
// external images and buffers.
QList<RawRef> glbRefs(const QByteArray &content)
{
    constexpr quint32 kMagic = 0x46546C67; // "glTF"
    constexpr quint32 kJsonChunk = 0x4E4F534A;
    if (content.size() < 20)
        return {};
    const auto u32 = [&](qsizetype at) { return qFromLittleEndian<quint32>(content.data() + at); };
    if (u32(0) != kMagic || u32(4) != 2 || u32(16) != kJsonChunk)
        return {};
    const quint32 length = u32(12);
    if (quint64(length) > quint64(content.size() - 20))
        return {};
    return gltfJsonRefs(content.mid(20, length));
}

// ---- OBJ: mtllib ----

QList<RawRef> objRefs(const QByteArray &content)
{
    QList<RawRef> refs;
    forEachLine(content, [&](QByteArrayView line) {
        if (!line.startsWith("mtllib") || line.size() < 7 || !QChar::isSpace(line.at(6)))
            return;
        const QString rest = QString::fromUtf8(line.sliced(7)).trimmed();
        if (rest.isEmpty())
            return;
        static const QRegularExpression spaces(QStringLiteral("\\s+"));
        const QStringList names = rest.split(spaces);
        refs.append({rest, rest, names.size() > 1 ? names : QStringList()});
    });
    return refs;
}

// ---- MTL: texture statements, options skipped, the rest of the line is the file name ----

struct MtlOption
{
    const char *name;
    int fixedArgs;   // always taken
    int numericArgs; // further arguments taken while they read as numbers
};

constexpr std::array kMtlOptions{
    MtlOption{"-blendu", 1, 0}, MtlOption{"-blendv", 1, 0}, MtlOption{"-boost", 1, 0},
    MtlOption{"-cc", 1, 0},     MtlOption{"-clamp", 1, 0},  MtlOption{"-imfchan", 1, 0},
    MtlOption{"-texres", 1, 0}, MtlOption{"-type", 1, 0},   MtlOption{"-bm", 1, 0},
    MtlOption{"-mm", 1, 1},     MtlOption{"-o", 1, 2},      MtlOption{"-s", 1, 2},
    MtlOption{"-t", 1, 2},
};

constexpr std::array kMtlTextureKeys{
    "map_kd", "map_ka", "map_ks",  "map_ns",  "map_d",    "map_tr",   "map_bump",
    "bump",   "disp",   "decal",   "refl",    "norm",     "map_pr",   "map_pm",
    "map_ps", "map_ke", "map_rma", "map_orm", "map_disp", "map_norm",
};

bool isNumber(QStringView token)
{
    bool ok = false;
    (void)token.toDouble(&ok);
    return ok;
}

// Tokens of `s` with their start offsets, so that the file name keeps its inner spaces.
QList<std::pair<qsizetype, QStringView>> tokens(QStringView s)
{
    QList<std::pair<qsizetype, QStringView>> out;
    qsizetype i = 0;
    while (i < s.size()) {
        while (i < s.size() && s.at(i).isSpace())
            ++i;
        const qsizetype start = i;
        while (i < s.size() && !s.at(i).isSpace())
            ++i;
        if (i > start)
            out.append({start, s.sliced(start, i - start)});
    }
    return out;
}

QString mtlFileName(const QString &rest)
{
    const auto toks = tokens(rest);
    qsizetype t = 0;
    while (t < toks.size() && toks.at(t).second.startsWith(u'-')) {
        const QStringView option = toks.at(t).second;
        ++t;
        const auto known = std::find_if(kMtlOptions.begin(), kMtlOptions.end(), [&](auto &o) {
            return option.compare(QLatin1String(o.name), Qt::CaseInsensitive) == 0;
        });
        const int fixed = known != kMtlOptions.end() ? known->fixedArgs : 0;
        const int numeric = known != kMtlOptions.end() ? known->numericArgs : 3;
        t = std::min(t + fixed, toks.size());
        for (int n = 0; n < numeric && t < toks.size() && isNumber(toks.at(t).second); ++n)
            ++t;
    }
    return t < toks.size() ? rest.mid(toks.at(t).first).trimmed() : QString();
}

QList<RawRef> mtlRefs(const QByteArray &content)
{
    QList<RawRef> refs;
    forEachLine(content, [&](QByteArrayView line) {
        qsizetype keyEnd = 0;
        while (keyEnd < line.size() && line.at(keyEnd) != ' ' && line.at(keyEnd) != '\t')
            ++keyEnd;
        const QByteArrayView key = line.first(keyEnd);
        const bool texture =
            std::any_of(kMtlTextureKeys.begin(), kMtlTextureKeys.end(),
                        [&](const char *k) { return key.compare(k, Qt::CaseInsensitive) == 0; });
        if (!texture)
            return;
        const QString name = mtlFileName(QString::fromUtf8(line.sliced(keyEnd)));
        if (!name.isEmpty())
            refs.append({name, name, {}});
    });
    return refs;
}

// ---- COLLADA: <image><init_from>file</init_from></image> (1.4) or <init_from><ref> (1.5) ----

QList<RawRef> daeRefs(const QByteArray &content)
{
    QXmlStreamReader xml(content);
    QList<RawRef> refs;
    int imageDepth = 0; // <init_from> outside an <image> names an image id, not a file
    bool inInitFrom = false;
    bool inHex = false; // 1.5 embeds image bytes in <init_from><hex>
    QString text;
    while (!xml.atEnd()) {
        switch (xml.readNext()) {
        case QXmlStreamReader::StartElement:
            if (xml.name() == QLatin1String("image")) {
                ++imageDepth;
            } else if (xml.name() == QLatin1String("init_from") && imageDepth > 0) {
                inInitFrom = true;
                text.clear();
            } else if (inInitFrom && xml.name() == QLatin1String("hex")) {
                inHex = true;
            }
            break;
        case QXmlStreamReader::Characters:
            if (inInitFrom && !inHex)
                text += xml.text();
            break;
        case QXmlStreamReader::EndElement:
            if (xml.name() == QLatin1String("image")) {
                imageDepth = std::max(0, imageDepth - 1);
            } else if (xml.name() == QLatin1String("hex")) {
                inHex = false;
            } else if (xml.name() == QLatin1String("init_from") && inInitFrom) {
                inInitFrom = false;
                const QString written = text.trimmed();
                if (!written.isEmpty())
                    refs.append({written, percentDecoded(written), {}});
            }
            break;
        default:
            break;
        }
    }
    if (xml.hasError())
        return {};
    return refs;
}

struct Format
{
    const char *extension;
    RefParser parser;
};

constexpr std::array kFormats{
    Format{"gltf", gltfRefs}, Format{"glb", glbRefs}, Format{"obj", objRefs},
    Format{"mtl", mtlRefs},   Format{"dae", daeRefs},
};

} // namespace

RefParser parserFor(const QString &fileName)
{
    const QString suffix = QFileInfo(fileName).suffix().toLower();
    for (const Format &f : kFormats)
        if (suffix == QLatin1String(f.extension))
            return f.parser;
    return nullptr;
}

std::optional<QByteArray> objReferenceLines(const QString &localPath)
{
    QFile file(localPath);
    if (!file.open(QIODevice::ReadOnly))
        return std::nullopt;
    // Lines are read in bounded pieces: a file without line ends must not fill the memory.
    constexpr qint64 kPiece = 64 * 1024;
    QByteArray lines;
    bool lineStart = true;
    while (!file.atEnd()) {
        const QByteArray piece = file.readLine(kPiece);
        if (piece.isEmpty())
            break;
        if (lineStart && piece.trimmed().startsWith("mtllib"))
            lines += piece.trimmed() + '\n';
        lineStart = piece.endsWith('\n');
    }
    return lines;
}

} // namespace farm::bundle::detail
