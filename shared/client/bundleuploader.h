#pragma once

#include "client/uploader.h"
#include "model/job.h"

#include <QObject>
#include <QStringList>

namespace farm::bundle {
struct LocalBundle;
}

namespace farm::client {

/// The files of one job's input on the local disk: a folder with relative paths (a model and its
/// side files), or one .zip the server unpacks (docs/JOBTYPES.md "Input bundles").
struct BundleSource
{
    QString root;      // absolute folder the paths are relative to
    QString main;      // '/'-separated, relative to root; with an archive: optional
    QStringList files; // '/'-separated, relative to root, main among them
    QString archive;   // absolute path of a .zip; when set, root and files are not used

    static BundleSource fromLocal(const bundle::LocalBundle &bundle);
    static BundleSource fromArchive(const QString &zipPath, const QString &main = {});
    bool isArchive() const { return !archive.isEmpty(); }
    /// Absolute paths of the files to upload (the archive alone for an archive).
    QStringList localPaths() const;
    /// Sum of the files' sizes.
    qint64 totalBytes() const;
    /// The name a job gets by default: the main file's own name, or the archive's.
    QString displayName() const;
    /// Refuses paths the server would refuse (isSafeBundlePath), a main file that is not one of
    /// the files, more than kMaxBundleFiles files, files that are not readable.
    Result<void> check() const;
};

/// Uploads every file of a bundle, one after another, each by SHA-256 through the resumable
/// Uploader (a file the server already holds costs one request), then yields the job's `input`:
/// `{main, files: [{path, file}]}`, or `{archive, main}` for a .zip.
class BundleUploader : public QObject
{
    Q_OBJECT
public:
    explicit BundleUploader(ApiClient *api, QObject *parent = nullptr);

    void start(const BundleSource &source);
    void abort();
    bool isRunning() const { return m_running; }
    Uploader &uploader() { return m_uploader; }
    /// Bytes the finished files' uploads sent; the rest of totalBytes() the server held
    /// already (the same file, or chunks of an interrupted upload it resumed).
    qint64 bytesSent() const { return m_bytesSent; }
    qint64 totalBytes() const { return m_total; }

signals:
    /// Bytes the server holds of all files, the file being sent now (its bundle path).
    void progress(qint64 done, qint64 total, const QString &path);
    void finished(const farm::JobInput &input);
    /// `path`: the file that failed (empty when the bundle itself is wrong).
    void failed(const QString &path, const farm::Error &error);

private:
    void next();

    ApiClient *m_api;
    Uploader m_uploader;
    BundleSource m_source;
    QStringList m_paths; // bundle paths in upload order
    QList<qint64> m_sizes;
    qint64 m_total = 0;
    qint64 m_done = 0; // bytes of the files already finished
    qint64 m_bytesSent = 0;
    int m_index = -1;
    JobInput m_input;
    bool m_running = false;
};

} // namespace farm::client
