#include "nodeconfig.h"

#include <QCommandLineParser>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QHostInfo>
#include <QRegularExpression>
#include <QSettings>
#include <QStandardPaths>
#include <QThread>

#include <algorithm>

namespace farm::node {

namespace {

// Keys accepted in the INI file; the same names as the long flags.
const QStringList kConfigKeys{"server", "name",         "slots", "gpus",   "token",
                              "cache",  "cache-max-mb", "tags",  "blender"};

QString joinPath(const QString &base, const QString &path)
{
    QString p = base;
    while (p.endsWith('/'))
        p.chop(1);
    return p + (path.startsWith('/') ? path : '/' + path);
}

QString sanitizeForPath(const QString &name)
{
    QString s = name;
    s.replace(QRegularExpression("[^A-Za-z0-9._-]"), "_");
    return s.isEmpty() ? QStringLiteral("node") : s;
}

Result<QStringList> parseTags(const QString &text)
{
    QStringList tags;
    static const QRegularExpression valid("^[A-Za-z0-9._-]{1,64}$");
    for (const QString &raw : text.split(',', Qt::SkipEmptyParts)) {
        const QString tag = raw.trimmed();
        if (!valid.match(tag).hasMatch())
            return makeError(
                "invalid_field",
                QString("tag '%1' must be 1-64 characters of A-Z a-z 0-9 . _ -").arg(tag));
        tags.append(tag);
    }
    return tags;
}

} // namespace

QString NodeConfig::credentialsPath() const
{
    return cacheDir.isEmpty() ? QString() : QDir(cacheDir).filePath(NodeCredentials::kFileName);
}

QUrl NodeConfig::currentServer() const
{
    const QList<QUrl> all = controllers();
    const int i = activeServer ? activeServer->load() : 0;
    return i >= 0 && i < all.size() ? all[i] : server;
}

QUrl NodeConfig::webSocketUrl(const QUrl &server)
{
    QUrl url = server;
    url.setScheme(server.scheme() == "https" ? "wss" : "ws");
    url.setPath(joinPath(server.path(), "/ws/node"));
    return url;
}

QUrl NodeConfig::apiUrl(const QString &path) const
{
    QUrl url = currentServer();
    url.setPath(joinPath(url.path(), path));
    return url;
}

int NodeConfig::threadsPerTask() const
{
    return std::max(1, QThread::idealThreadCount() / std::max(1, totalSlots()));
}

Result<void> applyGpus(NodeConfig &config, const QList<GpuInfo> &detected, QStringList *warnings)
{
    config.gpus.clear();
    config.gpuDevices.clear();
    const QString selection = config.gpuSelection.trimmed();
    // The UUID names a device whatever order CUDA enumerates them in; the index is the fallback.
    auto deviceOf = [&detected](int i) {
        return detected[i].uuid.isEmpty() ? QString::number(i) : detected[i].uuid;
    };
    if (selection.isEmpty() || selection == "auto") {
        for (int i = 0; i < detected.size(); ++i) {
            config.gpus.append(detected[i]);
            config.gpuDevices.append(deviceOf(i));
        }
    } else if (selection != "none") {
        static const QRegularExpression valid("^[A-Za-z0-9-]{1,64}$");
        for (const QString &raw : selection.split(',', Qt::SkipEmptyParts)) {
            const QString entry = raw.trimmed();
            if (!valid.match(entry).hasMatch())
                return makeError("bad_argument",
                                 QString("--gpus: '%1' is not a device index or UUID").arg(entry));
            int found = -1;
            for (int i = 0; i < detected.size() && found < 0; ++i)
                if (detected[i].uuid.compare(entry, Qt::CaseInsensitive) == 0 ||
                    entry == QString::number(i))
                    found = i;
            const QString device = found >= 0 ? deviceOf(found) : entry;
            if (config.gpuDevices.contains(device))
                return makeError("bad_argument",
                                 QString("--gpus: device '%1' is listed twice").arg(entry));
            if (found >= 0) {
                config.gpus.append(detected[found]);
            } else {
                GpuInfo declared;
                declared.name = QString("declared GPU %1").arg(entry);
                declared.uuid = entry.startsWith("GPU-") ? entry : QString();
                config.gpus.append(declared);
                if (warnings)
                    warnings->append(QString("--gpus: no detected GPU matches '%1'; its tasks ask "
                                             "for CUDA and fall back to the CPU if it is absent")
                                         .arg(entry));
            }
            config.gpuDevices.append(device);
        }
    }
    if (!config.slotsGiven)
        config.slotCount = config.gpus.isEmpty() ? 1 : 0;
    if (config.totalSlots() < 1)
        return makeError("bad_argument",
                         "this node would have no slot: --slots 0 needs at least one GPU");
    if (config.totalSlots() > 256)
        return makeError("bad_argument", QString("%1 GPU and %2 CPU slots exceed 256")
                                             .arg(config.gpus.size())
                                             .arg(config.slotCount));
    return {};
}

Result<QUrl> parseServerUrl(const QString &text)
{
    const QUrl url(text.trimmed(), QUrl::StrictMode);
    if (!url.isValid() || (url.scheme() != "http" && url.scheme() != "https") ||
        url.host().isEmpty())
        return makeError(
            "invalid_field",
            QString("--server '%1' must be an http:// or https:// URL with a host").arg(text));
    if (url.hasQuery() || url.hasFragment() || !url.userInfo().isEmpty())
        return makeError(
            "invalid_field",
            QString("--server '%1' must not carry a query, fragment or user").arg(text));
    return url;
}

Result<QList<QUrl>> parseServerUrls(const QString &text)
{
    QList<QUrl> urls;
    for (const QString &part : text.split(',', Qt::SkipEmptyParts)) {
        if (part.trimmed().isEmpty())
            continue;
        auto url = parseServerUrl(part);
        if (!url)
            return url.error();
        const auto key = [](const QUrl &u) {
            QString k = u.toString(QUrl::NormalizePathSegments);
            while (k.endsWith('/'))
                k.chop(1);
            return k;
        };
        for (const QUrl &seen : std::as_const(urls))
            if (key(seen) == key(*url))
                return makeError("invalid_field",
                                 QString("--server '%1' is listed twice").arg(part.trimmed()));
        urls.append(*url);
    }
    if (urls.isEmpty())
        return makeError("invalid_field", "--server needs at least one URL");
    return urls;
}

QString defaultCacheDir(const QString &nodeName)
{
    QString base = QStandardPaths::writableLocation(QStandardPaths::GenericCacheLocation);
    if (base.isEmpty())
        base = QDir::tempPath();
    return QDir(base).filePath("farmhand-node-" + sanitizeForPath(nodeName));
}

qint64 systemRamMb()
{
    QFile f("/proc/meminfo");
    if (!f.open(QIODevice::ReadOnly | QIODevice::Text))
        return 0;
    // /proc files report size 0, so read to the end instead of testing atEnd().
    static const QRegularExpression memTotal("^MemTotal:\\s+(\\d+)\\s+kB",
                                             QRegularExpression::MultilineOption);
    const QRegularExpressionMatch m = memTotal.match(QString::fromLatin1(f.readAll()));
    if (m.hasMatch())
        return m.captured(1).toLongLong() / 1024;
    return 0;
}

std::optional<double> systemLoadAverage()
{
    QFile f("/proc/loadavg");
    if (!f.open(QIODevice::ReadOnly | QIODevice::Text))
        return std::nullopt;
    bool ok = false;
    const double load = QString::fromLatin1(f.readLine(256)).section(' ', 0, 0).toDouble(&ok);
    if (!ok || !(load >= 0))
        return std::nullopt;
    return load;
}

Result<NodeCommandLine> NodeCommandLine::parse(const QStringList &arguments)
{
    QCommandLineParser parser;
    parser.setApplicationDescription(
        "Farmhand render node: connects to a farm server and renders its tasks.\n"
        "Use 'render-node render FILE -o OUT ...' to render locally.");
    const QCommandLineOption helpOpt({"h", "help"}, "Show this help.");
    const QCommandLineOption serverOpt(
        "server",
        "Farm server URL (default http://127.0.0.1:8420). Several controllers of one farm: "
        "comma separated or the flag repeated; the node connects to one and moves to the next "
        "when it drops.",
        "url");
    const QCommandLineOption nameOpt("name", "Node name (default: host name).", "name");
    const QCommandLineOption slotsOpt(
        "slots", "CPU slots: tasks rendered on the CPU at once, 0-256 (default 1, 0 with GPUs).",
        "n");
    const QCommandLineOption gpusOpt("gpus",
                                     "GPU slots: auto (every CUDA GPU, default), none, or device "
                                     "indices/UUIDs, comma separated.",
                                     "list");
    const QCommandLineOption tokenOpt(
        "token",
        "Join token for the first hello (the node then keeps its own secret in its cache dir).",
        "token");
    const QCommandLineOption cacheOpt("cache", "Directory for input files and task outputs.",
                                      "dir");
    const QCommandLineOption cacheMaxOpt(
        "cache-max-mb", "Input cache size before old inputs are evicted (default 20480).", "mb");
    const QCommandLineOption tagsOpt("tags", "Comma separated node tags.", "list");
    const QCommandLineOption blenderOpt(
        "blender", "Blender binary for .blend jobs (default: blender on PATH).", "path");
    const QCommandLineOption configOpt("config", "INI file with the same keys as the flags.",
                                       "file");
    parser.addOptions({helpOpt, serverOpt, nameOpt, slotsOpt, gpusOpt, tokenOpt, cacheOpt,
                       cacheMaxOpt, tagsOpt, blenderOpt, configOpt});

    if (!parser.parse(arguments))
        return makeError("bad_argument", parser.errorText());
    NodeCommandLine out;
    if (parser.isSet(helpOpt)) {
        out.helpRequested = true;
        out.helpText = parser.helpText();
        return out;
    }
    if (!parser.positionalArguments().isEmpty())
        return makeError("bad_argument",
                         QString("unexpected argument '%1' (did you mean 'render-node render'?)")
                             .arg(parser.positionalArguments().first()));

    // Values from the config file first, then flags on top.
    QHash<QString, QString> values;
    if (parser.isSet(configOpt)) {
        const QString file = parser.value(configOpt);
        if (!QFileInfo(file).isFile() || !QFileInfo(file).isReadable())
            return makeError("bad_argument", QString("config file '%1' cannot be read").arg(file));
        QSettings ini(file, QSettings::IniFormat);
        if (ini.status() != QSettings::NoError)
            return makeError("bad_argument",
                             QString("config file '%1' is not valid INI").arg(file));
        for (const QString &key : ini.allKeys()) {
            if (!kConfigKeys.contains(key))
                return makeError("bad_argument",
                                 QString("config file '%1': unknown key '%2' (known: %3)")
                                     .arg(file, key, kConfigKeys.join(", ")));
            // QSettings splits unquoted commas into lists; tags and gpus take lists.
            const QVariant v = ini.value(key);
            values.insert(key, v.typeId() == QMetaType::QStringList ? v.toStringList().join(',')
                                                                    : v.toString());
        }
    }
    const QList<std::pair<QString, const QCommandLineOption *>> flags{
        {"server", &serverOpt},         {"name", &nameOpt},
        {"slots", &slotsOpt},           {"gpus", &gpusOpt},
        {"token", &tokenOpt},           {"cache", &cacheOpt},
        {"cache-max-mb", &cacheMaxOpt}, {"tags", &tagsOpt},
        {"blender", &blenderOpt}};
    for (const auto &[key, opt] : flags)
        if (parser.isSet(*opt))
            values.insert(key, parser.value(*opt));
    if (parser.isSet(serverOpt)) // the flag repeated adds controllers
        values.insert("server", parser.values(serverOpt).join(','));

    NodeConfig &c = out.config;
    if (values.contains("server")) {
        auto urls = parseServerUrls(values.value("server"));
        if (!urls)
            return urls.error();
        c.server = urls->first();
        if (urls->size() > 1)
            c.servers = *urls;
    }
    c.name = values.value("name", QHostInfo::localHostName()).trimmed();
    if (c.name.isEmpty() || c.name.size() > 100)
        return makeError("bad_argument", "--name must be 1-100 characters");
    if (values.contains("slots")) {
        bool ok = false;
        c.slotCount = values.value("slots").toInt(&ok);
        if (!ok || c.slotCount < 0 || c.slotCount > 256)
            return makeError(
                "bad_argument",
                QString("--slots '%1' must be a number from 0 to 256").arg(values.value("slots")));
        c.slotsGiven = true;
    }
    c.gpuSelection = values.value("gpus").trimmed();
    c.token = values.value("token");
    if (c.token.contains(QRegularExpression("[\\s\\x00-\\x1f]")))
        return makeError("bad_argument", "--token must not contain spaces or control characters");
    c.cacheDir = values.value("cache");
    if (c.cacheDir.isEmpty())
        c.cacheDir = defaultCacheDir(c.name);
    if (values.contains("cache-max-mb")) {
        bool ok = false;
        c.cacheMaxMb = values.value("cache-max-mb").toInt(&ok);
        if (!ok || c.cacheMaxMb < 1)
            return makeError("bad_argument",
                             QString("--cache-max-mb '%1' must be a positive number of MiB")
                                 .arg(values.value("cache-max-mb")));
    }
    if (values.contains("blender")) {
        c.blenderProgram = values.value("blender").trimmed();
        if (c.blenderProgram.isEmpty())
            return makeError("bad_argument", "--blender needs a path or a program name");
    }
    auto tags = parseTags(values.value("tags"));
    if (!tags)
        return makeError("bad_argument", "--tags: " + tags.error().message);
    c.tags = *tags;
    return out;
}

} // namespace farm::node
