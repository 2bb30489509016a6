#pragma once

#include "util/result.h"

#include <QJsonObject>
#include <QJsonValue>
#include <QList>
#include <QPair>
#include <QStringList>

namespace farm::client {

/// One entry of GET /api/v1/job-types (docs/JOBTYPES.md): what a client needs to pick a type for
/// a file and to draw or check its settings. The schema stays raw: clients read it with the
/// helpers below and know no type by name.
struct JobTypeInfo
{
    QString name;
    QString label;
    QString description;
    QString engine;
    QStringList extensions; // lower case, no dot
    /// What may travel beside the main file (lower case, no dot); {"*"}: any file (also what a
    /// server that does not serve `side_extensions` is taken to allow).
    QStringList sideExtensions{QStringLiteral("*")};
    bool frames = true; // whether `frames` and `chunk` apply
    QJsonObject schema; // {"type": "object", "properties": {...}, "order": [...]}

    /// Whether this type takes a main file of this name (by lower-case extension).
    bool takes(const QString &fileName) const;
    /// Whether a file of this name may travel beside the main file (by lower-case extension).
    bool takesBeside(const QString &fileName) const;
};

/// `{"job_types": [...]}`; entries without a valid name are skipped, a missing list fails.
Result<QList<JobTypeInfo>> decodeJobTypes(const QJsonObject &o);
const JobTypeInfo *findJobType(const QList<JobTypeInfo> &types, const QString &name);
/// The types that take `fileName`, in the server's order.
QList<const JobTypeInfo *> jobTypesFor(const QList<JobTypeInfo> &types, const QString &fileName);
/// Every extension some type takes, each once, in the server's order.
QStringList allExtensions(const QList<JobTypeInfo> &types);

/// Reading a settings schema: the same rules the server applies (docs/JOBTYPES.md "The settings
/// schema"), for forms and for checks before an upload.
namespace settings {

/// The property keys of an object schema: `order` first, then any others by name.
QStringList orderedKeys(const QJsonObject &objectSchema);
/// The field at a dotted key ("camera.mode") of an object schema; empty when there is none.
QJsonObject fieldAt(const QJsonObject &objectSchema, const QString &dottedKey);
/// A value typed from command-line text by the field's type: integer, number, boolean
/// (true/false/yes/no/on/off/1/0), array (comma list, items typed by `items.type`), string.
/// `path` names the setting in messages ("settings.camera.mode").
Result<QJsonValue> parseValue(const QJsonObject &field, const QString &text, const QString &path);
/// Checks one value against its field: type, minimum/maximum, enum, pattern, maxLength, array
/// items, minItems, uniqueItems; nested objects with checkSettings.
Result<void> checkValue(const QJsonObject &field, const QJsonValue &value, const QString &path);
/// Checks every key of `values` against an object schema (unknown keys are refused with their
/// path and the known ones). Missing keys are fine: the server fills in defaults.
Result<void> checkSettings(const QJsonObject &objectSchema, const QJsonObject &values,
                           const QString &path = QStringLiteral("settings"));
/// Sets a dotted key, creating nested objects on the way.
void insertAt(QJsonObject &values, const QString &dottedKey, const QJsonValue &value);
/// Whether `value` holds a dotted key.
bool containsAt(const QJsonObject &values, const QString &dottedKey);
/// "640", "turntable", "rgb, depth", "true": a value as one line of text.
QString valueText(const QJsonValue &value);
/// Settings as (dotted key, text) rows: nested objects flattened, keys in the schema's order
/// where the schema knows them, then the others by name. Works without a schema.
QList<QPair<QString, QString>> flatten(const QJsonObject &values,
                                       const QJsonObject &objectSchema = {});
/// One line about a field: "integer 16..8192, default 640", "one of still, turntable",
/// "optional (the scene's own value)".
QString describeField(const QJsonObject &field);

} // namespace settings

} // namespace farm::client
