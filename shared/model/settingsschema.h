#pragma once

#include "util/result.h"

#include <QJsonObject>

namespace farm {

/// A job type's settings schema: a JSON Schema subset with form hints (docs/JOBTYPES.md, "The
/// settings schema"). Validation is driven by the schema alone; the server checks jobs with it
/// and the clients check a form before they upload, so both say the same thing.
class SettingsSchema
{
public:
    /// Checks that `schema` itself is well formed (for job types declared in JSON files): an
    /// object schema whose fields have known types and consistent limits and defaults.
    static Result<SettingsSchema> fromJson(const QJsonObject &schema);
    /// For the built-in types, whose schemas are written in C++ and checked by tests.
    explicit SettingsSchema(QJsonObject schema = {});

    const QJsonObject &json() const { return m_schema; }

    /// Validates `settings` and returns them with every default filled in. Unknown keys, wrong
    /// types and values out of range fail with the field's path ("settings.camera.mode") and
    /// what it accepts. A field hidden by `visible_when` must not be sent with a value other
    /// than its default; it is left out of the result.
    Result<QJsonObject> apply(const QJsonObject &settings,
                              const QString &path = QStringLiteral("settings")) const;

    /// Validates one value against one field of a schema (what apply does for each key);
    /// returns the value as stored (integers as integers).
    static Result<QJsonValue> applyField(const QJsonObject &field, const QJsonValue &value,
                                         const QString &path);

private:
    QJsonObject m_schema;
};

} // namespace farm
