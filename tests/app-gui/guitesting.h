#pragma once

// Shared by the farm-gui tests: the server's job types as the fake serves them, plus a type no
// client has code for, and copies of Debian's test models.

#include "client/jobtypes.h"

#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>

namespace farm::testing {

/// {"flavour": enum salty|sweet (default sweet), "strength": integer 1..5 (default 3)}.
inline QJsonObject testOnlyType()
{
    return QJsonObject{
        {"name", "testonly"},
        {"label", "Test only"},
        {"description", "A type only the tests know"},
        {"engine", "farmhand"},
        {"extensions", QJsonArray{"glb"}},
        {"frames", true},
        {"schema",
         QJsonObject{{"type", "object"},
                     {"order", QJsonArray{"flavour", "strength"}},
                     {"properties",
                      QJsonObject{{"flavour", QJsonObject{{"type", "string"},
                                                          {"label", "Flavour"},
                                                          {"enum", QJsonArray{"salty", "sweet"}},
                                                          {"default", "sweet"}}},
                                  {"strength", QJsonObject{{"type", "integer"},
                                                           {"label", "Strength"},
                                                           {"minimum", 1},
                                                           {"maximum", 5},
                                                           {"default", 3}}}}}}}};
}

/// The built-in types (the fake server's jobtypes.json), then testonly.
inline QList<client::JobTypeInfo> jobTypes()
{
    QFile file(FAKE_JOB_TYPES_JSON);
    if (!file.open(QIODevice::ReadOnly))
        qFatal("cannot read %s", FAKE_JOB_TYPES_JSON);
    QJsonArray list = QJsonDocument::fromJson(file.readAll()).object().value("job_types").toArray();
    list.append(testOnlyType());
    return *client::decodeJobTypes(QJsonObject{{"job_types", list}});
}

/// Copies the files of `source` (not recursive) into `target`; false when the source is absent.
inline bool copyFolder(const QString &source, const QString &target)
{
    const QDir from(source);
    if (!from.exists())
        return false;
    QDir().mkpath(target);
    for (const QString &f : from.entryList(QDir::Files))
        if (!QFile::copy(from.filePath(f), QDir(target).filePath(f)))
            return false;
    return true;
}

constexpr const char *kBoxTextured = "/usr/share/assimp/models/glTF2/BoxTextured-glTF";
constexpr const char *kObjFolder = "/usr/share/assimp/models/OBJ";

} // namespace farm::testing
