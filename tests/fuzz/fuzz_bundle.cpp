// Paths and files of an upload (docs/JOBTYPES.md "Input bundles"): bundle path rules
// (bundlePathProblem, isSafeBundlePath, normalizePath), file and output names, a job's input
// object (JobInput::fromJson), and the side-file readers (glTF, GLB, OBJ, MTL, COLLADA) on any
// bytes, walked through missingFiles over an in-memory bundle.
//
// Input: a first line (a path, and the file the content is), then the content.
// A first byte below 0x20 picks the format of the content instead.
#include "fuzzcheck.h"

#include "bundle/sidefiles.h"
#include "model/job.h"
#include "util/json.h"

#include <QHash>
#include <QJsonDocument>
#include <QSet>

using namespace farm;

namespace {

constexpr const char *kExtensions[] = {"gltf", "glb", "obj", "mtl", "dae"};

bool hasControl(const QString &s)
{
    return std::any_of(s.cbegin(), s.cend(),
                       [](QChar c) { return c.unicode() < 0x20 || c.unicode() == 0x7f; });
}

void checkPath(const QString &path)
{
    const QString problem = bundle::bundlePathProblem(path);
    FUZZ_CHECK(isSafeBundlePath(path) == problem.isEmpty(), path);
    const QStringList parts = path.split(u'/');
    if (problem.isEmpty()) {
        // docs/JOBTYPES.md: relative, '/'-separated, at most 1024 characters and 32 levels, no
        // empty, "." or ".." segment, no '\', control character or ':'.
        FUZZ_CHECK(!path.startsWith(u'/') && !path.contains(u'\\') && !path.contains(u':'), path);
        FUZZ_CHECK(!parts.contains(QStringLiteral("..")) && !parts.contains(QStringLiteral(".")) &&
                       !parts.contains(QString()),
                   path);
        FUZZ_CHECK(path.size() <= 1024 && parts.size() <= 32 && !hasControl(path), path);
        FUZZ_CHECK(bundle::normalizePath(path) == path, path);
    }
    const QString normal = bundle::normalizePath(path);
    if (!normal.isEmpty()) {
        const QStringList n = normal.split(u'/');
        FUZZ_CHECK(!normal.startsWith(u'/') && !normal.contains(u'\\'), normal);
        FUZZ_CHECK(!n.contains(QStringLiteral("..")) && !n.contains(QStringLiteral(".")) &&
                       !n.contains(QString()),
                   normal);
        FUZZ_CHECK(bundle::normalizePath(normal) == normal, normal);
    }
    if (isSafeFileName(path)) {
        FUZZ_CHECK(!path.contains(u'/') && !path.contains(u'\\') && !path.contains(".."), path);
        FUZZ_CHECK(!hasControl(path) && !path.isEmpty() && path.size() <= 255, path);
    }
    if (isValidOutputName(path)) {
        FUZZ_CHECK(path.size() <= 128 && !path.startsWith(u'.') && !path.contains(".."), path);
        FUZZ_CHECK(isSafeFileName(path) && isSafeBundlePath(path), path);
    }
}

void checkInput(const QByteArray &text)
{
    const auto o = json::parseObject(text);
    if (!o)
        return;
    const auto in = JobInput::fromJson(*o);
    if (!in)
        return;
    if (!in->archive.isEmpty()) {
        FUZZ_CHECK(in->main.isEmpty() || isSafeBundlePath(in->main), in->main);
        return;
    }
    FUZZ_CHECK(in->mainFile() != nullptr, in->main);
    for (const BundleFile &f : in->files)
        FUZZ_CHECK(isSafeBundlePath(f.path) && isSha256Hex(f.file), f.path);
    const auto back = JobInput::fromJson(in->toJson());
    FUZZ_CHECK(back.ok() && *back == *in, in->main);
}

// `content` as the bundle file `path`; the files it names exist and hold the same bytes, so
// references that loop (a glTF naming itself, an MTL naming an OBJ) must still end.
void checkReferences(const QString &path, const QByteArray &content)
{
    const bundle::Refs refs = bundle::referencedFiles(path, content);
    QSet<QString> seen;
    for (const QString &f : refs.files) {
        FUZZ_CHECK(!f.isEmpty() && bundle::normalizePath(f) == f, f);
        FUZZ_CHECK(!f.split(u'/').contains(QStringLiteral("..")) && !f.startsWith(u'/'), f);
        FUZZ_CHECK(!seen.contains(f), f);
        seen.insert(f);
    }
    if (bundle::normalizePath(path) != path)
        return; // missingFiles takes bundle paths
    // A bundle of at most 16 files, as a real one is finite: the main file, what it names, and
    // whatever else with side files is asked for first.
    QSet<QString> files;
    const bundle::ReadFile read = [&](const QString &p) -> std::optional<QByteArray> {
        if (!files.contains(p) && files.size() < 16 &&
            (p == path || seen.contains(p) || bundle::hasSideFiles(p)))
            files.insert(p);
        return files.contains(p) ? std::optional<QByteArray>(content) : std::nullopt;
    };
    const QStringList missing = bundle::missingFiles(path, read);
    for (const QString &m : missing)
        FUZZ_CHECK(!m.isEmpty(), path);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const QByteArray all = fuzz::bytes(data, size);
    if (!all.isEmpty() && uchar(all[0]) < 0x20) {
        // A format picked by the first byte, the rest its content.
        const QString ext = QLatin1String(kExtensions[uchar(all[0]) % std::size(kExtensions)]);
        checkReferences(QStringLiteral("models/scene.") + ext, all.mid(1));
        checkReferences(QStringLiteral("scene.") + ext, all.mid(1));
        return 0;
    }
    const qsizetype eol = all.indexOf('\n');
    const QString path = QString::fromUtf8(eol < 0 ? all : all.left(eol));
    const QByteArray content = eol < 0 ? QByteArray() : all.mid(eol + 1);
    checkPath(path);
    checkInput(all);
    checkInput(content);
    if (bundle::hasSideFiles(path))
        checkReferences(path, content);
    return 0;
}
