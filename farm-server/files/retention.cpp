#include "files/retention.h"

#include "serverconfig.h"
#include "util/json.h"

#include <QDir>
#include <QFile>
#include <QJsonArray>

namespace farm::server {
namespace {

constexpr qint64 kMiB = 1024 * 1024;

} // namespace

RetentionRules RetentionRules::fromConfig(const ServerConfig &config)
{
    return {config.retentionOutputDays, config.retentionOutputMb * kMiB, config.retentionInputDays,
            config.retentionInputMb * kMiB};
}

QJsonObject RetentionRules::toJson() const
{
    return {{"output_days", outputDays},
            {"output_mb", outputBytes / kMiB},
            {"input_days", inputDays},
            {"input_mb", inputBytes / kMiB}};
}

qint64 RetentionPlan::bytes() const
{
    qint64 total = 0;
    for (const Outputs &o : outputs)
        total += o.bytes;
    for (const Input &i : inputs)
        total += i.bytes;
    return total;
}

QJsonObject RetentionPlan::toJson() const
{
    QJsonArray out, in;
    for (const Outputs &o : outputs)
        out.append(QJsonObject{{"job", o.jobId},
                               {"finished_at", json::fromTime(o.finishedAt)},
                               {"files", o.count},
                               {"bytes", o.bytes},
                               {"reason", o.reason}});
    for (const Input &i : inputs)
        in.append(QJsonObject{{"file", i.sha256},
                              {"modified_at", json::fromTime(i.modifiedAt)},
                              {"bytes", i.bytes},
                              {"reason", i.reason}});
    return {{"outputs", out}, {"inputs", in}, {"bytes", bytes()}};
}

RetentionPlan planRetention(JobStore &store, const FileStore &files, const RetentionRules &rules,
                            const QDateTime &now)
{
    RetentionPlan plan;
    if (rules.outputDays > 0 || rules.outputBytes > 0) {
        const QList<JobStore::StoredOutputs> jobs = store.finishedJobOutputs(); // oldest first
        qint64 kept = 0;
        for (const auto &j : jobs)
            kept += j.bytes;
        const QDateTime cutoff = now.addDays(-rules.outputDays);
        for (const auto &j : jobs) {
            QString reason;
            if (rules.outputDays > 0 && j.finishedAt.isValid() && j.finishedAt < cutoff)
                reason = QString("finished more than %1 days ago").arg(rules.outputDays);
            else if (rules.outputBytes > 0 && kept > rules.outputBytes)
                reason = QString("finished outputs hold %1 MiB, over the %2 MiB kept")
                             .arg(kept / kMiB)
                             .arg(rules.outputBytes / kMiB);
            if (reason.isEmpty())
                continue;
            plan.outputs.append({j.jobId, j.finishedAt, j.bytes, j.count, reason});
            kept -= j.bytes;
        }
    }
    if (rules.inputDays > 0 || rules.inputBytes > 0) {
        const QSet<QString> used = store.filesInUse();
        QList<FileStore::StoredFile> unused; // least recently changed first
        qint64 kept = 0;
        for (const FileStore::StoredFile &f : files.storedFiles())
            if (!used.contains(f.sha256)) {
                unused.append(f);
                kept += f.size;
            }
        const QDateTime cutoff = now.addDays(-rules.inputDays);
        for (const FileStore::StoredFile &f : unused) {
            QString reason;
            if (rules.inputDays > 0 && f.modifiedAt < cutoff)
                reason =
                    QString("no job uses it, unchanged for more than %1 days").arg(rules.inputDays);
            else if (rules.inputBytes > 0 && kept > rules.inputBytes)
                reason = QString("unused files hold %1 MiB, over the %2 MiB kept")
                             .arg(kept / kMiB)
                             .arg(rules.inputBytes / kMiB);
            if (reason.isEmpty())
                continue;
            plan.inputs.append({f.sha256, f.size, f.modifiedAt, reason});
            kept -= f.size;
        }
    }
    return plan;
}

Result<RetentionPlan> applyRetention(JobStore &store, FileStore &files, const RetentionPlan &plan)
{
    RetentionPlan done;
    for (const RetentionPlan::Outputs &o : plan.outputs) {
        const auto job = store.job(o.jobId);
        if (!job || !isFinal(job->state)) // re-run meanwhile: its outputs are wanted again
            continue;
        const auto names = store.deleteJobOutputs(o.jobId);
        if (!names)
            return names.error();
        for (const QString &name : *names)
            QFile::remove(files.outputPath(o.jobId, name));
        QDir().rmdir(files.outputDir(o.jobId)); // only when nothing else is in it
        done.outputs.append(o);
    }
    const QSet<QString> used = store.filesInUse();
    for (const RetentionPlan::Input &i : plan.inputs)
        if (!used.contains(i.sha256) && files.removeFile(i.sha256))
            done.inputs.append(i);
    return done;
}

} // namespace farm::server
