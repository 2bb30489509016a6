#include "farmctl/output.h"

#include "client/jobtypes.h"

#include <cstdio>
#include <unistd.h>

namespace farm::ctl {

QString formatBytes(qint64 bytes)
{
    static const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = double(bytes);
    int unit = 0;
    while (v >= 1024.0 && unit < 4) {
        v /= 1024.0;
        ++unit;
    }
    return unit == 0 ? QString("%1 B").arg(bytes)
                     : QString("%1 %2").arg(v, 0, 'f', 1).arg(QLatin1String(units[unit]));
}

QString progressBar(double fraction, int width)
{
    const int filled = qBound(0, int(fraction * width + 0.5), width);
    return '[' + QString(filled, '#') + QString(width - filled, '-') + ']';
}

QString formatTable(const QStringList &header, const QList<QStringList> &rows,
                    const QList<int> &rightAligned)
{
    QList<int> widths;
    for (const QString &h : header)
        widths.append(h.size());
    for (const QStringList &row : rows)
        for (int i = 0; i < row.size() && i < widths.size(); ++i)
            widths[i] = qMax(widths[i], int(row[i].size()));
    auto line = [&](const QStringList &cells) {
        QString s;
        for (int i = 0; i < cells.size() && i < widths.size(); ++i) {
            const bool last = i == widths.size() - 1;
            if (rightAligned.contains(i))
                s += cells[i].rightJustified(widths[i]);
            else
                s += last ? cells[i] : cells[i].leftJustified(widths[i]);
            if (!last)
                s += "  ";
        }
        return s + '\n';
    };
    QString out = line(header);
    for (const QStringList &row : rows)
        out += line(row);
    return out;
}

QString formatTime(const QDateTime &t)
{
    return t.isValid() ? t.toUTC().toString("yyyy-MM-dd HH:mm:ss 'UTC'") : QString("-");
}

QString formatJob(const Job &job, const QJsonObject &typeSchema)
{
    const JobSpec &s = job.spec;
    const TaskCounts &c = job.tasks;
    QString out = QString("job %1: %2\n").arg(job.id).arg(s.name);
    auto row = [&out](const char *key, const QString &value) {
        out += QString("  %1 %2\n").arg(QString::fromLatin1(key).leftJustified(9), value);
    };
    row("state", QString("%1 %2 %3%")
                     .arg(toString(job.state), progressBar(job.progress, 20))
                     .arg(int(job.progress * 100 + 0.5)));
    row("type", QString("%1, priority %2").arg(s.type).arg(s.priority));
    const JobInput &in = s.input;
    if (!in.archive.isEmpty())
        row("input",
            QString("archive %1%2").arg(in.archive, in.main.isEmpty() ? "" : ", " + in.main));
    else if (in.files.size() <= 1)
        row("input", QString("%1 (%2)").arg(in.main, in.mainFile() ? in.mainFile()->file : "-"));
    else
        row("input", QString("%1 and %2 side files").arg(in.main).arg(in.files.size() - 1));
    for (const BundleFile &f : in.files)
        if (in.files.size() > 1)
            out += QString("    %1  %2\n").arg(f.file.left(12), f.path);
    row("frames", QString("%1 (chunk %2)").arg(s.frames).arg(s.chunk));
    const auto settings = client::settings::flatten(s.settings, typeSchema);
    if (settings.isEmpty())
        row("settings", "-");
    for (qsizetype i = 0; i < settings.size(); ++i)
        row(i == 0 ? "settings" : "", settings[i].first + " = " + settings[i].second);
    row("tasks", QString("%1 total: %2 queued, %3 running, %4 done, %5 failed, %6 canceled")
                     .arg(c.total)
                     .arg(c.queued)
                     .arg(c.running)
                     .arg(c.done)
                     .arg(c.failed)
                     .arg(c.canceled));
    row("created", formatTime(job.createdAt));
    row("started", formatTime(job.startedAt));
    row("finished", formatTime(job.finishedAt));
    if (!job.error.isEmpty())
        row("error", job.error);
    return out;
}

ProgressLine::ProgressLine(QTextStream &stream)
    : m_stream(stream)
    , m_tty(isatty(fileno(stderr)) == 1)
{}

void ProgressLine::update(const QString &text, double fraction)
{
    if (text == m_last)
        return;
    m_last = text;
    if (m_tty) {
        // Pad so a shorter line fully covers the previous one.
        m_stream << '\r' << text.leftJustified(79) << Qt::flush;
        return;
    }
    const int decile = qBound(0, int(fraction * 10), 10);
    if (decile == m_lastDecile)
        return;
    m_lastDecile = decile;
    m_stream << text << '\n' << Qt::flush;
}

void ProgressLine::finish()
{
    if (m_tty && !m_last.isEmpty())
        m_stream << '\n' << Qt::flush;
    m_last.clear();
    m_lastDecile = -1;
}

} // namespace farm::ctl
