#pragma once

#include "agent/nodeconfig.h"

#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonObject>
#include <QString>

/// Helpers shared by the agent tests.
namespace agenttest {

/// True while `pid` runs (a zombie counts as gone: only its exit status is left).
inline bool isAlive(qint64 pid)
{
    QFile stat(QString("/proc/%1/stat").arg(pid));
    if (!stat.open(QIODevice::ReadOnly))
        return false;
    const QByteArray text = stat.readAll();
    return text.mid(text.lastIndexOf(')') + 2, 1) != "Z";
}

/// Writes an executable /bin/sh script into `dir`; returns its path.
inline QString writeScript(const QString &dir, const QString &name, const QString &body)
{
    const QString path = QDir(dir).filePath(name);
    QFile f(path);
    if (!f.open(QIODevice::WriteOnly | QIODevice::Truncate))
        qFatal("cannot write %s", qPrintable(path));
    f.write(("#!/bin/sh\n" + body).toUtf8());
    f.close();
    f.setPermissions(QFile::ReadOwner | QFile::WriteOwner | QFile::ExeOwner);
    return path;
}

/// A fake `render-node render` that writes and reports every frame of `--frames A-B`.
/// `before` runs first (e.g. to wait for a signal file).
inline QString fakeRenderer(const QString &dir, const QString &before = {})
{
    QString body = R"(printf '%s\n' "$@" > "@DIR@/args.txt"
cp "$2" "@DIR@/input-copy"
@BEFORE@
pattern="$4"
frames="$6"
f=${frames%%-*}
last=${frames##*-}
while [ "$f" -le "$last" ]; do
  out=$(printf '%s' "$pattern" | sed "s/####/$(printf %04d "$f")/")
  printf 'fake png %s\n' "$f" > "$out"
  echo "PROGRESS 0.5 $f"
  echo "FRAME $f $out"
  f=$((f+1))
done
echo "rendered by the fake"
echo "note: on stderr" >&2
)";
    return writeScript(dir, "fake-render.sh",
                       body.replace("@DIR@", dir).replace("@BEFORE@", before));
}

inline farm::node::NodeConfig makeConfig(const QString &serverUrl, const QString &cacheDir,
                                         const QString &program, int slotCount = 1)
{
    farm::node::NodeConfig c;
    c.server = QUrl(serverUrl);
    c.name = "test-node";
    c.slotCount = slotCount;
    c.token = "secret";
    c.cacheDir = cacheDir;
    c.tags = {"lab"};
    c.childProgram = program;
    // No Blender on these nodes unless a test gives one: hello lists only what was found.
    c.blenderProgram = "/nonexistent/blender";
    // Quick retries keep the tests short; production uses the defaults.
    c.backoffInitialMs = 100;
    c.backoffMaxMs = 400;
    c.uploadRetryMs = 50;
    return c;
}

inline QJsonObject assignMessage(qint64 task, const QString &sha, const QString &name,
                                 const QString &frames, const QString &jobFrames,
                                 const QString &mode = "turntable", int width = 64, int height = 48)
{
    return {{"task", task},
            {"job", 3},
            {"type", "model"},
            {"engine", "farmhand"},
            {"frames", frames},
            {"job_frames", jobFrames},
            {"attempt", 1},
            {"input",
             QJsonObject{
                 {"main", name},
                 {"files", QJsonArray{QJsonObject{
                               {"path", name}, {"file", sha}, {"url", "/api/v1/files/" + sha}}}}}},
            {"settings", QJsonObject{{"width", width},
                                     {"height", height},
                                     {"spp", 1},
                                     {"seed", 7},
                                     {"camera", QJsonObject{{"mode", mode}}},
                                     {"passes", QJsonArray{"rgb"}},
                                     {"format", "png"}}}};
}

} // namespace agenttest
