#pragma once

#include "model/job.h"
#include "model/node.h"

#include <QJsonObject>
#include <QList>
#include <QStringList>
#include <QTextStream>

namespace farm::ctl {

/// "12.3 MiB"
QString formatBytes(qint64 bytes);
/// "[##########----------]" for `fraction` in 0..1.
QString progressBar(double fraction, int width = 24);
/// Left-aligned columns sized to their widest cell; numeric columns listed in `rightAligned`.
QString formatTable(const QStringList &header, const QList<QStringList> &rows,
                    const QList<int> &rightAligned = {});
/// The readable block of `farmctl status`; settings in the order of the job type's schema when
/// given (any type shows, known or not: unknown keys follow by name).
QString formatJob(const Job &job, const QJsonObject &typeSchema = {});
QString formatTime(const QDateTime &t);

/// One self-overwriting status line on a terminal; on a pipe or file only every tenth of the way
/// gets a line, so logs stay readable.
class ProgressLine
{
public:
    explicit ProgressLine(QTextStream &stream);
    void update(const QString &text, double fraction);
    void finish();

private:
    QTextStream &m_stream;
    bool m_tty;
    int m_lastDecile = -1;
    QString m_last;
};

} // namespace farm::ctl
