#include "serverconfig.h"

#include "protocol/states.h"
#include "store/sqldialect.h"

#include <QCommandLineParser>
#include <QFileInfo>
#include <QHostAddress>
#include <QRegularExpression>
#include <QSettings>
#include <QUrl>

#include <cmath>

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
    {"database",
     "PostgreSQL database instead of SQLite in the data dir: postgresql://user:password@host:"
     "port/dbname (also postgres://; ?schema=NAME, ?host=/socket/dir, ?sslmode=…). Files "
     "stay in the data dir (docs/DATABASE.md).",
     "url"},
    {"config", "INI file with the same keys.", "file"},
    {"token", "Token clients must send as 'Authorization: Bearer'.", "token"},
    {"join-token", "Token render nodes must send.", "token"},
    {"no-trust-loopback", "Require tokens from loopback peers too.", nullptr},
    {"lease", "Seconds of silence after which a node is lost.", "seconds"},
    {"heartbeat", "Seconds between node heartbeats.", "seconds"},
    {"progress-batch-ms",
     "Milliseconds task progress is kept in memory and then written in one batch (dashboards "
     "see each value at once; 0: every report is written and announced at once; default 250).",
     "ms"},
    {"no-progress-timeout",
     "Seconds a task may run without progress, log or preview before it fails and is retried "
     "on another node (0: never; default: 15 minutes).",
     "seconds"},
    {"job-types", "Folder of job types declared in JSON (docs/JOBTYPES.md).", "dir"},
    {"max-connections-per-peer", "Open connections one address may hold (HTTP and WebSocket).",
     "count"},
    {"max-connections", "Open connections in all.", "count"},
    {"trusted-proxies",
     "Reverse proxies whose X-Forwarded-For/Proto are believed: addresses or subnets "
     "(10.0.0.0/8), comma-separated. Turns loopback trust off.",
     "list"},
    {"base-path", "Path prefix the web UI and API are also served under (/farm).", "path"},
    {"rate-limit", "Requests per second each token (or address) may make; 0: no limit.", "n"},
    {"rate-burst", "Requests a token may make at once before the rate applies.", "n"},
    {"public-url", "URL clients reach the server at (links in webhooks).", "url"},
    {"webhook-allow",
     "Where callback_url may point: scheme://host entries, comma-separated (*.example.com "
     "for subdomains).",
     "list"},
    {"webhook-secret", "Key of the webhooks' HMAC-SHA256 signature header.", "secret"},
    {"webhook-retry", "Seconds before the first retry of a failed webhook (doubling).", "seconds"},
    {"webhook-attempts", "Attempts before a webhook delivery is given up.", "count"},
    {"fetch-allow",
     "Hosts input URLs may name: scheme://host entries, comma-separated (*.example.com for "
     "subdomains; no port: any port). Empty: jobs may not name inputs by URL.",
     "list"},
    {"fetch-timeout",
     "Seconds an input URL may stay silent (no answer, no bytes) before its job fails "
     "(default 30).",
     "seconds"},
    {"webhook-progress-interval", "Least seconds between two progress webhooks of a job.",
     "seconds"},
    {"min-free-disk", "MiB the data dir needs free for /health to say ok.", "mib"},
    {"autoscale-window",
     "Seconds in which farm_desired_nodes would finish the queued work (default 600).", "seconds"},
    {"retention-output-days", "Outputs of jobs finished this many days ago expire (0: never).",
     "days"},
    {"retention-output-mb",
     "MiB of finished jobs' outputs kept; the oldest expire beyond it (0: no limit).", "mib"},
    {"retention-input-days",
     "Uploaded files no job uses expire this many days after they last changed (0: never).",
     "days"},
    {"retention-input-mb", "MiB of unused uploaded files kept; the oldest expire beyond it.",
     "mib"},
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
    if (values.contains("database")) {
        // Checked here so that a mistyped URL is one clear line at start (the store opens it).
        const auto url = DatabaseUrl::parse(values["database"]);
        if (!url)
            return url.error();
        if (url->backend != SqlBackend::Postgres)
            return makeError("invalid_argument",
                             "--database takes a postgresql:// URL (SQLite is the default, in "
                             "--data), got " +
                                 values["database"]);
        c.database = values["database"];
    }
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
    if (values.contains("progress-batch-ms")) {
        const auto v = readInt("progress-batch-ms", values["progress-batch-ms"], 0, 10000);
        if (!v)
            return v.error();
        c.progressBatchMs = *v;
    }
    if (values.contains("no-progress-timeout")) {
        const auto v =
            readInt("no-progress-timeout", values["no-progress-timeout"], 0, 30 * 24 * 3600);
        if (!v)
            return v.error();
        c.noProgressS = *v;
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
    for (const QString &item : values.value("trusted-proxies").split(',', Qt::SkipEmptyParts)) {
        auto subnet = QHostAddress::parseSubnet(item.trimmed());
        if (subnet.first.isNull()) {
            const QHostAddress one(item.trimmed());
            if (one.isNull())
                return makeError("invalid_argument",
                                 "--trusted-proxies: '" + item.trimmed() +
                                     "' is not an address or subnet (10.0.0.0/8)");
            subnet = {one, one.protocol() == QAbstractSocket::IPv6Protocol ? 128 : 32};
        }
        c.trustedProxies.append(subnet);
    }
    if (!c.trustedProxies.isEmpty())
        c.trustLoopback = false; // the proxy's own requests come from loopback
    c.basePath = values.value("base-path");
    while (c.basePath.endsWith('/'))
        c.basePath.chop(1);
    static const QRegularExpression basePathForm(QStringLiteral("^(/[A-Za-z0-9._~-]+)*$"));
    if (!basePathForm.match(c.basePath).hasMatch() || c.basePath.contains("/../") ||
        c.basePath.endsWith("/..") || c.basePath.startsWith("/api/") || c.basePath == "/api" ||
        c.basePath == "/ws")
        return makeError("invalid_argument",
                         "--base-path must look like /farm (letters, digits, . _ ~ -), got " +
                             values.value("base-path"));
    if (values.contains("rate-limit")) {
        bool ok = false;
        c.rateLimit = values["rate-limit"].toDouble(&ok);
        if (!ok || c.rateLimit < 0 || c.rateLimit > 1e6)
            return makeError("invalid_argument",
                             "--rate-limit must be a number of requests per second (0: none)");
    }
    if (values.contains("rate-burst")) {
        const auto v = readInt("rate-burst", values["rate-burst"], 1, 1000000);
        if (!v)
            return v.error();
        c.rateBurst = *v;
    }
    if (c.rateBurst == 0)
        c.rateBurst = qMax(10, int(std::ceil(2 * c.rateLimit)));
    c.publicUrl = values.value("public-url");
    while (c.publicUrl.endsWith('/'))
        c.publicUrl.chop(1);
    if (!c.publicUrl.isEmpty()) {
        const QUrl u(c.publicUrl, QUrl::StrictMode);
        if (!u.isValid() || (u.scheme() != "http" && u.scheme() != "https") || u.host().isEmpty())
            return makeError("invalid_argument",
                             "--public-url must be an http(s) URL, got " + c.publicUrl);
    }
    for (const char *key : {"webhook-allow", "fetch-allow"}) {
        QStringList &list = QLatin1String(key) == "webhook-allow" ? c.webhookAllow : c.fetchAllow;
        for (const QString &item : values.value(key).split(',', Qt::SkipEmptyParts)) {
            QString entry = item.trimmed().toLower();
            while (entry.endsWith('/'))
                entry.chop(1);
            const QString scheme = entry.section("://", 0, 0);
            const QString host = entry.section("://", 1);
            if (!entry.contains("://") || (scheme != "http" && scheme != "https") ||
                host.isEmpty() || host.contains('/') || host.contains('@'))
                return makeError("invalid_argument",
                                 QString("--%1 entries look like https://hooks.example.com, "
                                         "http://127.0.0.1:9000 or http://*.studio.lan, got '%2'")
                                     .arg(key, item.trimmed()));
            list.append(entry);
        }
    }
    c.webhookSecret = values.value("webhook-secret");
    if (!c.webhookAllow.isEmpty() && c.webhookSecret.isEmpty())
        return makeError("invalid_argument",
                         "--webhook-allow needs --webhook-secret: receivers check the signature");
    const struct
    {
        const char *key;
        int *target;
        int min, max;
    } ints[] = {{"webhook-retry", &c.webhookRetryS, 1, 86400},
                {"webhook-attempts", &c.webhookAttempts, 1, 100},
                {"fetch-timeout", &c.fetchTimeoutS, 1, 3600},
                {"webhook-progress-interval", &c.webhookProgressS, 1, 86400},
                {"autoscale-window", &c.autoscaleWindowS, 1, 7 * 86400}};
    for (const auto &i : ints) {
        if (!values.contains(i.key))
            continue;
        const auto v = readInt(i.key, values[i.key], i.min, i.max);
        if (!v)
            return v.error();
        *i.target = *v;
    }
    if (values.contains("min-free-disk")) {
        const auto v = readInt("min-free-disk", values["min-free-disk"], 0, 1 << 30);
        if (!v)
            return v.error();
        c.minFreeDiskMb = *v;
    }
    const struct
    {
        const char *key;
        int *days;
        qint64 *mb;
    } retention[] = {{"retention-output-days", &c.retentionOutputDays, nullptr},
                     {"retention-output-mb", nullptr, &c.retentionOutputMb},
                     {"retention-input-days", &c.retentionInputDays, nullptr},
                     {"retention-input-mb", nullptr, &c.retentionInputMb}};
    for (const auto &rule : retention) {
        if (!values.contains(rule.key))
            continue;
        const auto v = readInt(rule.key, values[rule.key], 0, rule.days ? 36500 : 1 << 30);
        if (!v)
            return v.error();
        if (rule.days)
            *rule.days = *v;
        else
            *rule.mb = *v;
    }
    if (c.heartbeatS >= c.leaseS)
        return makeError("invalid_argument", "--heartbeat must be shorter than --lease");
    return c;
}

} // namespace farm::server
