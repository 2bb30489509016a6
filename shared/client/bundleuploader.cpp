#include "client/bundleuploader.h"

#include "bundle/sidefiles.h"

#include <QDir>
#include <QFileInfo>

namespace farm::client {

BundleSource BundleSource::fromLocal(const bundle::LocalBundle &bundle)
{
    BundleSource s;
    s.root = bundle.root;
    s.main = bundle.main;
    s.files = bundle.files;
    return s;
}

BundleSource BundleSource::fromArchive(const QString &zipPath, const QString &main)
{
    BundleSource s;
    s.archive = QFileInfo(zipPath).absoluteFilePath();
    s.main = main;
    return s;
}

QStringList BundleSource::localPaths() const
{
    if (isArchive())
        return {archive};
    QStringList out;
    const QDir dir(root);
    for (const QString &f : files)
        out.append(dir.filePath(f));
    return out;
}

qint64 BundleSource::totalBytes() const
{
    qint64 total = 0;
    for (const QString &p : localPaths())
        total += QFileInfo(p).size();
    return total;
}

QString BundleSource::displayName() const
{
    if (!main.isEmpty())
        return main.section('/', -1);
    return QFileInfo(archive).fileName();
}

Result<void> BundleSource::check() const
{
    if (isArchive()) {
        if (!QFileInfo(archive).isFile())
            return makeError("io", QString("%1 is not a readable file").arg(archive));
        if (!main.isEmpty() && !isSafeBundlePath(main))
            return makeError("invalid_field",
                             QString("'%1' is not a path inside the archive").arg(main));
        return {};
    }
    if (files.isEmpty())
        return makeError("invalid_field", "the bundle holds no files");
    if (files.size() > kMaxBundleFiles)
        return makeError("too_many_files", QString("the bundle holds %1 files; at most %2 go in "
                                                   "one job")
                                               .arg(files.size())
                                               .arg(kMaxBundleFiles));
    if (!files.contains(main))
        return makeError("invalid_field",
                         QString("the main file '%1' is not one of the bundle's files").arg(main));
    const QDir dir(root);
    for (const QString &f : files) {
        if (!isSafeBundlePath(f))
            return makeError("invalid_field",
                             QString("'%1' cannot travel in a bundle (a relative path without "
                                     "'..', '\\' or ':' is needed)")
                                 .arg(f));
        if (!QFileInfo(dir.filePath(f)).isFile())
            return makeError("io", QString("%1 is not a readable file")
                                       .arg(QDir::toNativeSeparators(dir.filePath(f))));
    }
    return {};
}

BundleUploader::BundleUploader(ApiClient *api, QObject *parent)
    : QObject(parent)
    , m_api(api)
    , m_uploader(api)
{
    connect(&m_uploader, &Uploader::progress, this, [this](qint64 sent, qint64) {
        if (m_running)
            emit progress(qMin(m_done + sent, m_total), m_total, m_paths.value(m_index));
    });
    connect(&m_uploader, &Uploader::failed, this, [this](const Error &e) {
        if (!m_running)
            return;
        m_running = false;
        emit failed(m_paths.value(m_index), e);
    });
    connect(&m_uploader, &Uploader::finished, this, [this](const QString &sha) {
        if (!m_running)
            return;
        if (m_source.isArchive())
            m_input.archive = sha;
        else
            m_input.files.append({m_paths.at(m_index), sha});
        m_done += m_sizes.value(m_index);
        m_bytesSent += m_uploader.bytesSent();
        next();
    });
}

void BundleUploader::start(const BundleSource &source)
{
    if (m_running)
        return emit failed({}, makeError("busy", "an upload is already running"));
    m_source = source;
    m_input = JobInput();
    m_input.main = source.main;
    m_paths = source.isArchive() ? QStringList{QFileInfo(source.archive).fileName()} : source.files;
    m_sizes.clear();
    m_total = m_done = m_bytesSent = 0;
    m_index = -1;
    const auto ok = source.check();
    if (!ok)
        return emit failed({}, ok.error());
    for (const QString &p : source.localPaths()) {
        m_sizes.append(QFileInfo(p).size());
        m_total += m_sizes.last();
    }
    m_running = true;
    next();
}

void BundleUploader::abort()
{
    m_running = false;
    m_uploader.abort();
}

void BundleUploader::next()
{
    if (++m_index >= m_paths.size()) {
        m_running = false;
        emit progress(m_total, m_total, {});
        return emit finished(m_input);
    }
    const QString local = m_source.localPaths().at(m_index);
    m_uploader.start(local, QFileInfo(local).fileName());
}

} // namespace farm::client
