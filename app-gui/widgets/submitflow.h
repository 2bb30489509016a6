#pragma once

#include "client/apiclient.h"
#include "client/bundleuploader.h"

#include <QObject>
#include <functional>

namespace farm::gui {

/// Uploads one bundle (each file once, by SHA-256) and creates its job.
class SubmitFlow : public QObject
{
    Q_OBJECT
public:
    /// Builds the job once the upload gave the job's input (SubmitOptions::specFor).
    using SpecBuilder = std::function<Result<JobSpec>(const JobInput &input)>;

    SubmitFlow(client::ApiClient *api, const client::BundleSource &source, SpecBuilder build,
               QObject *parent = nullptr);
    void start();
    void abort();

signals:
    /// `done` of `total` bytes of the bundle are on the server; `path` is being sent.
    void progress(qint64 done, qint64 total, const QString &path);
    void jobCreated(const farm::Job &job);
    void failed(const QString &what, const farm::Error &error);
    void finished(int jobsCreated);

private:
    client::ApiClient *m_api;
    client::BundleUploader m_uploader;
    client::BundleSource m_source;
    SpecBuilder m_build;
};

} // namespace farm::gui
