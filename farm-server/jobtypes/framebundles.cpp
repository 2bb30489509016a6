#include "jobtypes/framebundles.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QUuid>

#include <algorithm>
#include <unistd.h>

namespace farm::server {

namespace {

const QStringList kEncodable{"png", "jpg", "jpeg"};

// Puts `path`'s bytes into the content store as `sha256`: a hard link (no copy) where the
// store and the outputs share a file system, else a copy.
Result<void> adopt(const QString &path, const QString &sha256, FileStore &files)
{
    if (files.hasFile(sha256))
        return {};
    const QString temp =
        QDir(files.tempDir()).filePath("frame-" + QUuid::createUuid().toString(QUuid::Id128));
    if (::link(QFile::encodeName(path).constData(), QFile::encodeName(temp).constData()) != 0 &&
        !QFile::copy(path, temp))
        return makeError(
            "internal",
            QString("cannot put %1 into the file store").arg(QFileInfo(path).fileName()));
    auto r = files.adoptFile(temp, sha256);
    if (!r)
        QFile::remove(temp);
    return r;
}

} // namespace

FrameBundles::FrameBundles(JobStore &store, FileStore &files, const JobTypeRegistry &types)
    : m_store(store)
    , m_files(files)
    , m_types(types)
{}

Result<QList<FrameBundles::Frame>> FrameBundles::frames(qint64 jobId)
{
    const auto job = m_store.job(jobId);
    if (!job)
        return makeError("not_found", QString("job %1 does not exist").arg(jobId));
    QList<Frame> out;
    QStringList other;
    for (const OutputRecord &o : m_store.outputs(jobId)) {
        const auto frame = m_types.completedFrame(job->spec.type, o.name);
        if (!frame)
            continue;
        if (!kEncodable.contains(o.name.section('.', -1).toLower())) {
            other.append(o.name);
            continue;
        }
        out.append({*frame, o.name, m_files.outputPath(jobId, o.name)});
    }
    if (out.isEmpty())
        return makeError("invalid_input",
                         other.isEmpty()
                             ? QString("job %1 has no frame images to encode").arg(jobId)
                             : QString("job %1 has no PNG or JPEG frames to encode (its frames "
                                       "are %2 …)")
                                   .arg(jobId)
                                   .arg(other.first()));
    std::sort(out.begin(), out.end(),
              [](const Frame &a, const Frame &b) { return a.frame < b.frame; });
    return out;
}

Result<JobInput> FrameBundles::bundle(const QList<Frame> &frames, FileStore &files)
{
    JobInput input;
    for (const Frame &f : frames) {
        auto sha = FileStore::hashFile(f.path);
        if (!sha)
            return sha.error();
        if (auto r = adopt(f.path, *sha, files); !r)
            return r.error();
        input.files.append({"frames/" + f.name, *sha});
    }
    if (!input.files.isEmpty())
        input.main = input.files.first().path;
    return input;
}

Result<QString> FrameBundles::adopted(const QString &path)
{
    const QFileInfo info(path);
    Digest &d = m_digests[path];
    if (d.sha256.isEmpty() || d.size != info.size() ||
        d.modified != info.lastModified().toMSecsSinceEpoch()) {
        auto one = bundle({Frame{0, info.fileName(), path}}, m_files);
        if (!one)
            return one.error();
        d = {info.size(), info.lastModified().toMSecsSinceEpoch(), one->files.first().file};
    } else if (auto r = adopt(path, d.sha256, m_files); !r) {
        return r.error();
    }
    return d.sha256;
}

Result<JobInput> FrameBundles::forJob(qint64 jobId)
{
    auto list = frames(jobId);
    if (!list)
        return list.error();
    JobInput input;
    for (const Frame &f : *list) {
        auto sha = adopted(f.path);
        if (!sha)
            return sha.error();
        input.files.append({"frames/" + f.name, *sha});
    }
    input.main = input.files.first().path;
    return input;
}

Result<JobInput> FrameBundles::outputs(qint64 jobId, const QRegularExpression &names,
                                       const QString &folder)
{
    QStringList matching;
    for (const OutputRecord &o : m_store.outputs(jobId))
        if (names.match(o.name).hasMatch())
            matching.append(o.name);
    matching.sort();
    JobInput input;
    for (const QString &name : std::as_const(matching)) {
        auto sha = adopted(m_files.outputPath(jobId, name));
        if (!sha)
            return sha.error();
        input.files.append({folder + '/' + name, *sha});
    }
    return input;
}

} // namespace farm::server
