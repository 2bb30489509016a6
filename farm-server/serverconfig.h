#pragma once

#include "api/httphead.h"
#include "scheduler/timeouts.h"
#include "util/result.h"

#include <QHostAddress>
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
    /// A postgresql:// URL (docs/DATABASE.md); empty: SQLite, farm.db in dataDir.
    QString database;
    QString token;
    QString joinToken;
    bool trustLoopback = true;
    int leaseS = 20;
    int heartbeatS = 5;
    int noProgressS = kDefaultNoProgressS; // 0: no timeout
    int progressBatchMs = 250; // task progress written in batches this often; 0: at once
    QString jobTypesDir;       // extra job types declared in JSON; empty: the built-in ones only
    HttpLimits http;           // connection caps and timeouts of the HTTP front end
    /// Reverse proxies (address/prefix) whose X-Forwarded-For/Proto are believed; setting any
    /// turns loopback trust off (the proxy's requests come from loopback).
    QList<QPair<QHostAddress, int>> trustedProxies;
    QString basePath;     // "/farm": the UI and API are also served under it; "": none
    double rateLimit = 0; // requests per second per token (or address); 0: no limit
    int rateBurst = 0;    // bucket size; 0: twice the rate, at least 10
    QString publicUrl;    // how clients reach the server, for links in webhooks
    /// Where `callback_url` may point: "scheme://host" entries ("*." host prefix matches
    /// subdomains); empty: webhooks are refused.
    QStringList webhookAllow;
    QString webhookSecret;     // HMAC-SHA256 key of the X-Farm-Signature header
    int webhookRetryS = 10;    // first retry after this many seconds, doubling each time
    int webhookAttempts = 8;   // deliveries given up after this many failed attempts
    int webhookProgressS = 30; // at most one progress call per job in this many seconds
    /// Where input URLs may point (scheme://host entries as for webhookAllow); empty: jobs may
    /// not name inputs by URL (docs/API.md, "Input by URL").
    QStringList fetchAllow;
    int fetchTimeoutS = 30;      // an input URL silent this long fails its job (docs/API.md)
    qint64 fetchMaxBytes = 0;    // largest input fetched from a URL; 0: FileStore::kMaxFileSize
    qint64 minFreeDiskMb = 1024; // /health is 503 below this much free space in the data dir
    int autoscaleWindowS = 600;  // farm_desired_nodes: nodes that finish the queue in this time
    /// Retention (docs/API.md "Retention"); 0 turns a rule off.
    int retentionOutputDays = 0;  // outputs of jobs finished longer ago than this expire
    qint64 retentionOutputMb = 0; // beyond this total, the oldest finished jobs' outputs expire
    int retentionInputDays = 0;   // input files no job uses, unchanged for this long, expire
    qint64 retentionInputMb = 0;  // beyond this total of unused inputs, the oldest expire

    /// Parses arguments including the program name (QCoreApplication::arguments()).
    static Result<ServerConfig> fromArguments(const QStringList &arguments);
};

} // namespace farm::server
