#pragma once

#include "util/result.h"

#include <QJsonObject>

namespace farm::server {

/// A job type's settings schema: a JSON Schema subset with form hints (docs/JOBTYPES.md, "The
/// settings schema"). Validation is driven by the schema alone.
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

private:
    QJsonObject m_schema;
};

} // namespace farm::server
