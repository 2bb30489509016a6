#pragma once
// Runs the render command as the agent does (a child process) for the CLI tests.
#include <QProcess>
#include <QString>
#include <QStringList>

namespace farm::test {

inline const QString kEngine = QStringLiteral(
    "/usr/share/assimp/models/glTF2/2CylinderEngine-glTF-Binary/2CylinderEngine.glb");
inline const QString kBox = QStringLiteral("/usr/share/assimp/models/OFF/Cube.off");

struct Run
{
    int exitCode = -1;
    QStringList out;
    QString err;
};

inline Run runCli(const QStringList &args)
{
    QProcess p;
    p.start(QStringLiteral(FARM_RENDER_CLI), args);
    Run r;
    if (!p.waitForFinished(120000) || p.exitStatus() != QProcess::NormalExit)
        return r;
    r.exitCode = p.exitCode();
    r.out = QString::fromUtf8(p.readAllStandardOutput()).split('\n', Qt::SkipEmptyParts);
    r.err = QString::fromUtf8(p.readAllStandardError());
    return r;
}

inline QStringList linesStartingWith(const QStringList &lines, const QString &prefix)
{
    QStringList result;
    for (const QString &l : lines)
        if (l.startsWith(prefix))
            result.append(l);
    return result;
}

} // namespace farm::test
