#include "serverconfig.h"

#include "protocol/states.h"

#include <QCommandLineParser>
#include <QFileInfo>
#include <QHostAddress>
#include <QSettings>

namespace farm::server {
namespace {

struct Option
{
    const char *key;
    const char *description;
    const char *valueName; // nullptr: a flag
};

const Option kOptions[] = {
    {"port", "TCP port (0 picks a free one).", "port"},
    {"bind", "Address to listen on.", "address"},
    {"data", "Data directory (database, files, outputs).", "dir"},
    {"config", "INI file with the same keys.", "file"},
    {"token", "Token clients must send as 'Authorization: Bearer'.", "token"},
    {"join-token", "Token render nodes must send.", "token"},
    {"no-trust-loopback", "Require tokens from loopback peers too.", nullptr},
    {"lease", "Seconds of silence after which a node is lost.", "seconds"},
    {"heartbeat", "Seconds between node heartbeats.", "seconds"},
    {"job-types", "Folder of job types declared in JSON (docs/JOBTYPES.md).", "dir"},
    {"max-connections-per-peer", "Open connections one address may hold (HTTP and WebSocket).",
     "count"},
    {"max-connections", "Open connections in all.", "count"},
};

Result<int> readInt(const QString &key, const QString &text, int min, int max)
{
    bool ok = false;
    const int v = text.toInt(&ok);
    if (!ok || v < min || v > max)
        return makeError("invalid_field",
                         QString("--%1 must be a number from %2 to %3").arg(key).arg(min).arg(max));
    return v;
}

} // namespace

Result<ServerConfig> ServerConfig::fromArguments(const QStringList &arguments)
{
    QCommandLineParser parser;
    parser.setApplicationDescription("Farmhand render farm server");
    parser.addHelpOption();
    for (const Option &o : kOptions)
        parser.addOption(o.valueName ? QCommandLineOption(o.key, o.description, o.valueName)
                                     : QCommandLineOption(o.key, o.description));
    if (!parser.parse(arguments))
        return makeError("invalid_argument", parser.errorText());
    if (parser.isSet("help"))
        return makeError("help", parser.helpText());
    if (!parser.positionalArguments().isEmpty())
        return makeError("invalid_argument",
                         "unexpected argument: " + parser.positionalArguments().first());

    // Values: INI file first, command line on top.
    QHash<QString, QString> values;
    if (parser.isSet("config")) {
        const QString file = parser.value("config");
        if (!QFileInfo(file).isReadable())
            return makeError("invalid_argument", "cannot read config file " + file);
        QSettings ini(file, QSettings::IniFormat);
        if (ini.status() != QSettings::NoError)
            return makeError("invalid_argument", "config file " + file + " is not valid INI");
        for (const Option &o : kOptions)
            if (ini.contains(o.key))
                values.insert(o.key, ini.value(o.key).toString());
    }
    for (const Option &o : kOptions)
        if (parser.isSet(o.key))
            values.insert(o.key, o.valueName ? parser.value(o.key) : QStringLiteral("true"));

    ServerConfig c;
    if (values.contains("port")) {
        const auto port = readInt("port", values["port"], 0, 65535);
        if (!port)
            return port.error();
        c.port = quint16(*port);
    }
    c.bind = values.value("bind", c.bind);
    if (QHostAddress(c.bind).isNull() && c.bind != "localhost")
        return makeError("invalid_argument", "--bind must be an IP address, got " + c.bind);
    if (c.bind == "localhost")
        c.bind = "127.0.0.1";
    c.dataDir = values.value("data", c.dataDir);
    if (c.dataDir.isEmpty())
        return makeError("invalid_argument", "--data must not be empty");
    c.token = values.value("token");
    c.joinToken = values.value("join-token");
    c.jobTypesDir = values.value("job-types");
    const QString noTrust = values.value("no-trust-loopback", "false").toLower();
    c.trustLoopback = !(noTrust == "true" || noTrust == "1" || noTrust == "yes");
    if (values.contains("lease")) {
        const auto v = readInt("lease", values["lease"], 1, 3600);
        if (!v)
            return v.error();
        c.leaseS = *v;
    }
    if (values.contains("heartbeat")) {
        const auto v = readInt("heartbeat", values["heartbeat"], 1, 3600);
        if (!v)
            return v.error();
        c.heartbeatS = *v;
    }
    if (values.contains("max-connections-per-peer")) {
        const auto v =
            readInt("max-connections-per-peer", values["max-connections-per-peer"], 1, 100000);
        if (!v)
            return v.error();
        c.http.maxConnectionsPerPeer = *v;
    }
    if (values.contains("max-connections")) {
        const auto v = readInt("max-connections", values["max-connections"], 1, 100000);
        if (!v)
            return v.error();
        c.http.maxConnections = *v;
    }
    if (c.heartbeatS >= c.leaseS)
        return makeError("invalid_argument", "--heartbeat must be shorter than --lease");
    return c;
}

} // namespace farm::server
