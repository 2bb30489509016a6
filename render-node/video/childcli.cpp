#include "childcli.h"

#include "protocol/message.h"
#include "renderer/childprotocol.h"
#include "util/json.h"

#include <QFile>

#include <algorithm>
#include <cstdio>

namespace farm::video::childcli {

void out(const QString &line)
{
    std::fprintf(stdout, "%s\n", line.toUtf8().constData());
    std::fflush(stdout);
}

int fail(const QString &message, const QString &code)
{
    std::fprintf(stderr, "error: %s\n", message.toUtf8().constData());
    return code == QLatin1String(errc::InvalidInput) ? childprotocol::kExitInvalidInput : 1;
}

Result<QJsonObject> readTask(const QStringList &args, const QString &verb, qint64 maxBytes)
{
    if (args.size() != 1)
        return makeError("usage", QString("usage: render-node %1 TASK.json").arg(verb));
    QFile file(args.first());
    if (!file.open(QIODevice::ReadOnly) || file.size() > maxBytes)
        return makeError("unreadable", QString("cannot read %1").arg(args.first()));
    return json::parseObject(file.readAll());
}

void ProgressLines::report(qint64 done, qint64 total)
{
    const qint64 now = m_timer.elapsed();
    if (done != total && m_last >= 0 && now - m_last < 250)
        return;
    m_last = now;
    const double share = total > 0 ? std::min(1.0, double(done) / double(total)) : 0.0;
    out(childprotocol::progressLine(share, int(done)));
}

} // namespace farm::video::childcli
