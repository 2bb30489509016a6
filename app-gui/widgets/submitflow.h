#pragma once

#include "client/apiclient.h"
#include "client/uploader.h"

#include <QObject>
#include <functional>

namespace farm::gui {

/// Uploads files one after another and creates one job per file.
class SubmitFlow : public QObject
{
    Q_OBJECT
public:
    /// Builds the job of one uploaded file (SubmitDialog::specFor).
    using SpecBuilder = std::function<Result<JobSpec>(const QString &path, const QString &sha)>;

    SubmitFlow(client::ApiClient *api, const QStringList &files, SpecBuilder build,
               QObject *parent = nullptr);
    void start();
    void abort();

signals:
    /// Upload of file `index` of `count`: `sent` of `total` bytes.
    void progress(int index, int count, const QString &fileName, qint64 sent, qint64 total);
    void jobCreated(const farm::Job &job);
    void failed(const QString &fileName, const farm::Error &error);
    void finished(int jobsCreated);

private:
    void next();

    client::ApiClient *m_api;
    client::Uploader m_uploader;
    QStringList m_files;
    SpecBuilder m_build;
    int m_index = -1;
    int m_created = 0;
};

} // namespace farm::gui
