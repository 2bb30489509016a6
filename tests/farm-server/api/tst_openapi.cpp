// resources/api/openapi.json against the server: every registered route is documented (and
// nothing else is), and real answers fit the documented schemas.
#include "api/apiclient.h"
#include "api/httpserver.h"
#include "api/openapicheck.h"

using namespace farm;
using namespace farm::server;
using namespace farm::server::test;
using farm::test::SchemaChecker;

class TestOpenApi : public QObject
{
    Q_OBJECT

    QJsonObject doc = farm::test::openApiDocument();

    /// A documented path with its parameters replaced by their examples.
    QString sample(const QString &path, const QJsonObject &item, const QJsonObject &op) const
    {
        QHash<QString, QString> examples;
        for (const QJsonArray &params :
             {item.value("parameters").toArray(), op.value("parameters").toArray()})
            for (const QJsonValue &p : params) {
                const QJsonObject o = p.toObject();
                const QJsonValue ex = o.value("example");
                examples.insert(o.value("name").toString(),
                                ex.isString() ? ex.toString() : QString::number(ex.toInteger()));
            }
        QString out = path;
        static const QRegularExpression param(QStringLiteral("\\{([^}]+)\\}"));
        for (const auto &m : param.globalMatch(path))
            out.replace(m.captured(0), examples.value(m.captured(1), "<no example>"));
        return out;
    }
    /// Route patterns with their literal alternatives spelled out: "(cancel|pause)" → two.
    static QStringList expand(const QString &pattern)
    {
        static const QRegularExpression alternatives(QStringLiteral("\\(([a-z]+(\\|[a-z]+)+)\\)"));
        const auto m = alternatives.match(pattern);
        if (!m.hasMatch())
            return {pattern};
        QStringList out;
        for (const QString &alt : m.captured(1).split('|'))
            out += expand(QString(pattern).replace(m.capturedStart(0), m.capturedLength(0), alt));
        return out;
    }
    struct Documented
    {
        QString method, path, sample;
        bool webSocket = false;
    };
    QList<Documented> documented() const
    {
        QList<Documented> out;
        const QJsonObject paths = doc.value("paths").toObject();
        for (auto p = paths.begin(); p != paths.end(); ++p) {
            const QJsonObject item = p.value().toObject();
            for (auto m = item.begin(); m != item.end(); ++m) {
                if (m.key() == "parameters")
                    continue;
                const QJsonObject op = m.value().toObject();
                out.append({m.key().toUpper(), p.key(), sample(p.key(), item, op),
                            op.value("x-websocket").toBool()});
            }
        }
        return out;
    }

    /// Checks an answer against the document: the status must be documented (or an error
    /// under "default") and a JSON body must fit its schema.
    void fits(const HttpResult &r, const QString &method, const QString &path, int status)
    {
        QVERIFY2(r.status == status, qPrintable(QString("%1 %2: %3 %4")
                                                    .arg(method, path)
                                                    .arg(r.status)
                                                    .arg(QString::fromUtf8(r.body))));
        const SchemaChecker checker(doc);
        const QJsonValue schema = checker.responseSchema(path, method, status);
        if (r.body.isEmpty() && schema.isUndefined())
            return;
        QVERIFY2(!schema.isUndefined(),
                 qPrintable(QString("%1 %2 answers %3 with JSON the document does not describe")
                                .arg(method, path)
                                .arg(status)));
        const QStringList problems =
            checker.check(schema, QJsonDocument::fromJson(r.body).isArray()
                                      ? QJsonValue(QJsonDocument::fromJson(r.body).array())
                                      : QJsonValue(QJsonDocument::fromJson(r.body).object()));
        QVERIFY2(problems.isEmpty(),
                 qPrintable(QString("%1 %2 (%3): %4\n%5")
                                .arg(method, path)
                                .arg(status)
                                .arg(problems.join("; "), QString::fromUtf8(r.body.left(2000)))));
    }

    /// Every message a server sent on `path` is of a documented type and fits its schema.
    void messagesFit(const QString &path, const QList<Envelope> &messages)
    {
        const QJsonObject types =
            doc.value("x-websocket-messages").toObject().value(path).toObject();
        const SchemaChecker checker(doc);
        QVERIFY(!messages.isEmpty());
        for (const Envelope &e : messages) {
            QVERIFY2(
                types.contains(e.type),
                qPrintable(
                    QString("%1 sends '%2', which the document does not list").arg(path, e.type)));
            const QStringList problems = checker.check(types.value(e.type), e.data);
            QVERIFY2(problems.isEmpty(),
                     qPrintable(QString("%1 %2: %3").arg(path, e.type, problems.join("; "))));
        }
    }

private slots:
    void documentHoldsTogether()
    {
        QCOMPARE(doc.value("openapi").toString(), QString("3.1.0"));
        QVERIFY(!doc.value("paths").toObject().isEmpty());
        // Every $ref names a schema that exists.
        const QByteArray text = QJsonDocument(doc).toJson();
        static const QRegularExpression ref(QStringLiteral("\"#/components/schemas/([A-Za-z]+)\""));
        const QJsonObject schemas = doc.value("components").toObject().value("schemas").toObject();
        for (const auto &m : ref.globalMatch(QString::fromUtf8(text)))
            QVERIFY2(schemas.contains(m.captured(1)), qPrintable(m.captured(1)));
        // Every path parameter is declared with an example.
        for (const Documented &d : documented())
            QVERIFY2(!d.sample.contains("<no example>"), qPrintable(d.method + ' ' + d.path));
    }

    void everyRouteIsDocumentedAndNothingElse()
    {
        TestServer s;
        const QList<Documented> docs = documented();
        QStringList missing;
        const auto routes = s.server->http().routes();
        QVERIFY(routes.size() > 20);
        for (const auto &[method, pattern] : routes)
            for (const QString &one : expand(pattern)) {
                const QRegularExpression re('^' + one + '$');
                bool found = false;
                for (const Documented &d : docs)
                    found = found || (d.method == method && re.match(d.sample).hasMatch());
                if (!found)
                    missing.append(QString::fromLatin1(method) + ' ' + one);
            }
        QVERIFY2(missing.isEmpty(), qPrintable("routes missing from resources/api/openapi.json: " +
                                               missing.join(", ")));
        QStringList unknown;
        for (const Documented &d : docs) {
            if (d.webSocket)
                continue;
            bool found = false;
            for (const auto &[method, pattern] : routes)
                found =
                    found || (d.method == method &&
                              QRegularExpression('^' + pattern + '$').match(d.sample).hasMatch());
            if (!found)
                unknown.append(d.method + ' ' + d.path);
        }
        QVERIFY2(unknown.isEmpty(), qPrintable("documented but not served: " + unknown.join(", ")));
    }

    void answersFitTheDocument()
    {
        ServerConfig c;
        c.token = "admin-token";
        c.trustLoopback = false;
        TestServer s(c);
        s.bearer = "admin-token";
        fits(s.get("/health"), "GET", "/health", 200);
        fits(s.get("/api/v1/status"), "GET", "/api/v1/status", 200);
        fits(s.get("/api/v1/me"), "GET", "/api/v1/me", 200);
        fits(s.get("/api/v1/job-types"), "GET", "/api/v1/job-types", 200);
        const HttpResult user = s.post("/api/v1/users", {{"name", "ursula"}});
        fits(user, "POST", "/api/v1/users", 201);
        fits(s.get("/api/v1/users"), "GET", "/api/v1/users", 200);
        fits(s.get("/api/v1/nodes"), "GET", "/api/v1/nodes", 200);
        fits(s.get("/api/v1/farm/history?window=day"), "GET", "/api/v1/farm/history", 200);
        fits(s.get("/api/v1/farm/history?window=week"), "GET", "/api/v1/farm/history", 400);

        // Uploads.
        const QByteArray bytes = "a model for the contract test";
        const QString sha = QCryptographicHash::hash(bytes, QCryptographicHash::Sha256).toHex();
        const HttpResult up = s.post(
            "/api/v1/uploads", {{"name", "model.glb"}, {"size", bytes.size()}, {"sha256", sha}});
        fits(up, "POST", "/api/v1/uploads", 201);
        const QString id = up.json().value("id").toString();
        fits(s.post("/api/v1/uploads",
                    {{"name", "model.glb"}, {"size", bytes.size()}, {"sha256", sha}}),
             "POST", "/api/v1/uploads", 200); // this client's open upload, to resume
        fits(s.get("/api/v1/uploads"), "GET", "/api/v1/uploads", 200);
        fits(s.get("/api/v1/uploads/" + id), "GET", "/api/v1/uploads/{upload}", 200);
        fits(s.request("PUT", QString("/api/v1/uploads/%1/chunks/0").arg(id), bytes,
                       "application/octet-stream"),
             "PUT", "/api/v1/uploads/{upload}/chunks/{n}", 200);
        fits(s.request("POST", QString("/api/v1/uploads/%1/complete").arg(id)), "POST",
             "/api/v1/uploads/{upload}/complete", 200);
        fits(s.post("/api/v1/uploads",
                    {{"name", "model.glb"}, {"size", bytes.size()}, {"sha256", sha}}),
             "POST", "/api/v1/uploads", 200); // the server has it

        // Jobs.
        const HttpResult created = s.post("/api/v1/jobs", jobBody(sha, "1-2"));
        fits(created, "POST", "/api/v1/jobs", 201);
        const qint64 job = created.json().value("id").toInteger();
        const QString j = QString("/api/v1/jobs/%1").arg(job);
        fits(s.get("/api/v1/jobs"), "GET", "/api/v1/jobs", 200);
        fits(s.get(j), "GET", "/api/v1/jobs/{id}", 200);
        fits(s.get(j + "/tasks"), "GET", "/api/v1/jobs/{id}/tasks", 200);
        fits(s.get(j + "/explain"), "GET", "/api/v1/jobs/{id}/explain", 200);
        fits(s.post(j + "/priority", {{"priority", 70}}), "POST", "/api/v1/jobs/{id}/priority",
             200);
        fits(s.request("POST", j + "/pause"), "POST", "/api/v1/jobs/{id}/pause", 200);
        fits(s.request("POST", j + "/resume"), "POST", "/api/v1/jobs/{id}/resume", 200);

        // A dashboard hears every change from here on.
        WsClient dashboard;
        QVERIFY(dashboard.open(
            QUrl(QString("ws://127.0.0.1:%1/ws/events?token=admin-token").arg(s.server->port()))));

        // A node renders a task and uploads an output.
        WsClient node;
        QVERIFY(node.open(
            QUrl(QString("ws://127.0.0.1:%1/ws/node?token=admin-token").arg(s.server->port()))));
        node.send("hello", nodeHello("contract-node"));
        QVERIFY(node.waitFor("welcome") >= 0);
        const int assign = node.waitFor("task.assign");
        QVERIFY(assign >= 0);
        const qint64 task = node.received[assign].data.value("task").toInteger();
        fits(s.get("/api/v1/nodes"), "GET", "/api/v1/nodes", 200);
        fits(s.putOutput(node.secret(), task, "frame_0001.png", "png bytes"), "PUT",
             "/api/v1/tasks/{id}/outputs/{name}", 200);
        fits(s.get(j + "/outputs"), "GET", "/api/v1/jobs/{id}/outputs", 200);
        const QString nodeTasks = QString("/api/v1/nodes/%1/tasks?limit=10")
                                      .arg(s.server->scheduler().nodes().first().id);
        QCOMPARE(s.get(nodeTasks).json().value("tasks").toArray().size(), 1);
        fits(s.get(nodeTasks), "GET", "/api/v1/nodes/{id}/tasks", 200);
        fits(s.request("POST", QString("/api/v1/tasks/%1/requeue").arg(task)), "POST",
             "/api/v1/tasks/{id}/requeue", 200);
        fits(s.request("POST", j + "/cancel"), "POST", "/api/v1/jobs/{id}/cancel", 200);
        fits(s.request("POST", j + "/retry"), "POST", "/api/v1/jobs/{id}/retry", 200);
        fits(s.post("/api/v1/jobs:batch", {{"jobs", QJsonArray{jobBody(sha, "1")}}}), "POST",
             "/api/v1/jobs:batch", 201);

        fits(s.request(
                 "POST",
                 QString("/api/v1/nodes/%1/drain").arg(s.server->scheduler().nodes().first().id)),
             "POST", "/api/v1/nodes/{id}/drain", 200);
        node.send("heartbeat", {{"running", QJsonArray{}},
                                {"gpus", QJsonArray{GpuSample{"GPU-1", 0.5, 1, 2}.toJson()}}});
        node.send("task.accepted", {{"task", 0}}); // refused: an error message comes back
        QVERIFY(node.waitFor("error") >= 0);
        QVERIFY(dashboard.waitFor("node.updated") >= 0);
        messagesFit("/ws/events", dashboard.received);
        messagesFit("/ws/node", node.received);
        const SchemaChecker checker(doc);
        const QStringList heartbeat = checker.check(
            QJsonObject{{"$ref", "#/components/schemas/Heartbeat"}},
            QJsonObject{{"running", QJsonArray{1}},
                        {"gpus", QJsonArray{GpuSample{"GPU-1", 0.5, 1, 2}.toJson()}}});
        QVERIFY2(heartbeat.isEmpty(), qPrintable(heartbeat.join("; ")));

        // Errors have one shape.
        fits(s.get("/api/v1/jobs/999999"), "GET", "/api/v1/jobs/{id}", 404);
        fits(s.post("/api/v1/jobs", {{"type", "model"}}), "POST", "/api/v1/jobs", 400);
        fits(s.request("DELETE", j), "DELETE", "/api/v1/jobs/{id}", 409);
        const QByteArray ursula = user.json().value("token").toString().toUtf8();
        s.bearer = ursula;
        fits(s.get("/api/v1/users"), "GET", "/api/v1/users", 403);
        s.bearer = "wrong";
        fits(s.get("/api/v1/status"), "GET", "/api/v1/status", 401);
    }

    void servedAndRendered()
    {
        TestServer s;
        const HttpResult r = s.get("/api/v1/openapi.json");
        QCOMPARE(r.status, 200);
        QCOMPARE(QJsonDocument::fromJson(r.body).object(), doc);
        const HttpResult page = s.get("/docs.html");
        QCOMPARE(page.status, 200);
        QVERIFY(page.body.contains("js/apidocs.js"));
        const HttpResult script = s.get("/js/apidocs.js");
        QCOMPARE(script.status, 200);
        QVERIFY(script.body.contains("api/v1/openapi.json"));
    }
};

QTEST_MAIN(TestOpenApi)
#include "tst_openapi.moc"
