#pragma once

#include "files/filestore.h"
#include "jobtypes/jobtyperegistry.h"

#include <QHash>

namespace farm::server {

/// A job's frame images (each frame's main image, as the job type's frameOutput names it) as an
/// input bundle for an encode task (docs/JOBTYPES.md, "Video"): paths `frames/<output name>`,
/// each file put into the content store (a hard link to the output where the file system
/// allows) under its SHA-256, so a node fetches and caches it like any input. The first frame
/// is the bundle's main file.
class FrameBundles
{
public:
    struct Frame
    {
        int frame = 0;
        QString name; // the output's name
        QString path; // the output file
    };

    FrameBundles(JobStore &store, FileStore &files, const JobTypeRegistry &types);

    /// The frame images of a job in frame order (reads the store: the event loop's thread).
    /// Fails when the job has none the encoder reads (PNG, JPEG).
    Result<QList<Frame>> frames(qint64 jobId);
    /// Hashes the frames and adopts them into the content store; any thread.
    static Result<JobInput> bundle(const QList<Frame> &frames, FileStore &files);
    /// frames() then bundle(), on the calling thread, remembering each output's digest (by
    /// path, size and time) so a retried task hashes nothing again.
    Result<JobInput> forJob(qint64 jobId);
    /// The job's outputs whose names match `names`, in name order, as bundle files
    /// `folder/<name>` put into the content store as frames are (a compose join's segments).
    Result<JobInput> outputs(qint64 jobId, const QRegularExpression &names, const QString &folder);

private:
    /// The SHA-256 of an output file, put into the content store; remembered by path, size
    /// and time.
    Result<QString> adopted(const QString &path);
    JobStore &m_store;
    FileStore &m_files;
    const JobTypeRegistry &m_types;
    struct Digest
    {
        qint64 size = 0;
        qint64 modified = 0;
        QString sha256;
    };
    QHash<QString, Digest> m_digests;
};

} // namespace farm::server
