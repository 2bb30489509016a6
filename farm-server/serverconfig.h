#pragma once

#include "api/httphead.h"
#include "util/result.h"

#include <QString>
#include <QStringList>

namespace farm::server {

/// farm-server settings: command line, optionally an INI file with the same keys
/// (command line wins).
struct ServerConfig
{
    QString bind = QStringLiteral("127.0.0.1");
    quint16 port = 8420;
    QString dataDir = QStringLiteral("./farm-data");
    QString token;
    QString joinToken;
    bool trustLoopback = true;
    int leaseS = 20;
    int heartbeatS = 5;
    QString jobTypesDir; // extra job types declared in JSON; empty: the built-in ones only
    HttpLimits http;     // connection caps and timeouts of the HTTP front end

    /// Parses arguments including the program name (QCoreApplication::arguments()).
    static Result<ServerConfig> fromArguments(const QStringList &arguments);
};

} // namespace farm::server
