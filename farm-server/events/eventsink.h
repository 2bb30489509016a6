#pragma once

#include <QJsonObject>
#include <QString>

namespace farm::server {

/// Where announced changes go (the /ws/events hub; a recorder in tests).
class EventSink
{
public:
    virtual ~EventSink() = default;
    virtual void publish(const QString &type, const QJsonObject &data) = 0;
};

} // namespace farm::server
