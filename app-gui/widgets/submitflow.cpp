#include "widgets/submitflow.h"

#include <QFileInfo>

namespace farm::gui {

SubmitFlow::SubmitFlow(client::ApiClient *api, const QStringList &files, SpecBuilder build,
                       QObject *parent)
    : QObject(parent)
    , m_api(api)
    , m_uploader(api)
    , m_files(files)
    , m_build(std::move(build))
{
    connect(&m_uploader, &client::Uploader::progress, this, [this](qint64 sent, qint64 total) {
        emit progress(m_index, int(m_files.size()), QFileInfo(m_files.value(m_index)).fileName(),
                      sent, total);
    });
    connect(&m_uploader, &client::Uploader::failed, this, [this](const Error &e) {
        emit failed(QFileInfo(m_files.value(m_index)).fileName(), e);
        next();
    });
    connect(&m_uploader, &client::Uploader::finished, this, [this](const QString &sha) {
        const QString path = m_files.value(m_index);
        const auto spec = m_build(path, sha);
        if (!spec) {
            emit failed(QFileInfo(path).fileName(), spec.error());
            return next();
        }
        m_api->createJob(*spec, [this, path](Result<Job> job) {
            if (!job) {
                emit failed(QFileInfo(path).fileName(), job.error());
            } else {
                ++m_created;
                emit jobCreated(*job);
            }
            next();
        });
    });
}

void SubmitFlow::start()
{
    m_index = -1;
    m_created = 0;
    next();
}

void SubmitFlow::abort()
{
    m_uploader.abort();
    m_index = int(m_files.size());
}

void SubmitFlow::next()
{
    if (++m_index >= m_files.size())
        return emit finished(m_created);
    m_uploader.start(m_files.at(m_index));
}

} // namespace farm::gui
