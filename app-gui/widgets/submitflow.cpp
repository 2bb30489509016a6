#include "widgets/submitflow.h"

namespace farm::gui {

SubmitFlow::SubmitFlow(client::ApiClient *api, const client::BundleSource &source,
                       SpecBuilder build, QObject *parent)
    : QObject(parent)
    , m_api(api)
    , m_uploader(api)
    , m_source(source)
    , m_build(std::move(build))
{
    connect(&m_uploader, &client::BundleUploader::progress, this, &SubmitFlow::progress);
    connect(&m_uploader, &client::BundleUploader::failed, this,
            [this](const QString &path, const Error &e) {
                emit failed(path.isEmpty() ? m_source.displayName() : path, e);
                emit finished(0);
            });
    connect(&m_uploader, &client::BundleUploader::finished, this, [this](const JobInput &input) {
        const auto spec = m_build(input);
        if (!spec) {
            emit failed(m_source.displayName(), spec.error());
            return emit finished(0);
        }
        m_api->createJob(*spec, [this](Result<Job> job) {
            if (!job) {
                emit failed(m_source.displayName(), job.error());
                return emit finished(0);
            }
            emit jobCreated(*job);
            emit finished(1);
        });
    });
}

void SubmitFlow::start()
{
    m_uploader.start(m_source);
}

void SubmitFlow::abort()
{
    m_uploader.abort();
}

} // namespace farm::gui
