// farmctl types: the server's job types and their settings, read from GET /api/v1/job-types.
#include "farmctl/commands.h"

#include "client/syncwait.h"
#include "farmctl/output.h"

namespace farm::ctl {

using client::JobTypeInfo;

namespace {

/// One row per setting (nested objects as dotted keys): key, what it takes, its text.
void settingRows(const QJsonObject &objectSchema, const QString &prefix, QList<QStringList> &rows)
{
    const QJsonObject props = objectSchema.value("properties").toObject();
    for (const QString &key : client::settings::orderedKeys(objectSchema)) {
        const QJsonObject field = props.value(key).toObject();
        if (field.value("type").toString() == "object") {
            settingRows(field, prefix + key + '.', rows);
            continue;
        }
        QString text = field.value("label").toString();
        const QString description = field.value("description").toString();
        if (!description.isEmpty())
            text += (text.isEmpty() ? "" : ": ") + description;
        rows.append({"  " + prefix + key, client::settings::describeField(field), text});
    }
}

QString describeType(const JobTypeInfo &t)
{
    QString out = QString("%1: %2\n").arg(t.name, t.label);
    if (!t.description.isEmpty())
        out += "  " + t.description + '\n';
    out += QString("  engine %1; main files .%2; %3\n")
               .arg(t.engine, t.extensions.join(", ."),
                    t.frames ? QString("frames and chunks apply")
                             : QString("one render per job (no frames)"));
    QList<QStringList> rows;
    settingRows(t.schema, {}, rows);
    if (rows.isEmpty())
        return out + "  (no settings)\n";
    return out + formatTable({"  SETTING", "TAKES", "ABOUT"}, rows);
}

} // namespace

QList<QCommandLineOption> typesOptions()
{
    return {{"verbose", "Show every type's settings."}};
}

int runTypes(Context &ctx)
{
    const auto types = client::waitFor<QList<JobTypeInfo>>([&](auto cb) { ctx.api.jobTypes(cb); });
    if (!types)
        return ctx.fail(types.error());
    if (!ctx.args.isEmpty()) {
        const JobTypeInfo *t = client::findJobType(*types, ctx.args[0]);
        if (!t) {
            QStringList names;
            for (const JobTypeInfo &type : *types)
                names.append(type.name);
            return ctx.fail(QString("the server has no job type '%1' (it has: %2)")
                                .arg(ctx.args[0], names.join(", ")));
        }
        ctx.out << describeType(*t) << Qt::flush;
        return Ok;
    }
    if (ctx.parser.isSet("verbose")) {
        for (qsizetype i = 0; i < types->size(); ++i)
            ctx.out << (i ? "\n" : "") << describeType(types->at(i));
        ctx.out.flush();
        return Ok;
    }
    QList<QStringList> rows;
    for (const JobTypeInfo &t : *types)
        rows.append({t.name, t.label, t.engine, t.frames ? "yes" : "no",
                     t.extensions.isEmpty() ? "-" : "." + t.extensions.join(" .")});
    ctx.out << formatTable({"NAME", "LABEL", "ENGINE", "FRAMES", "EXTENSIONS"}, rows) << Qt::flush;
    return Ok;
}

} // namespace farm::ctl
