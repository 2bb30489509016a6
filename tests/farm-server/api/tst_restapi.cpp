#include "api/apiclient.h"
#include "api/joblistcache.h"
#include "api/rawhttp.h"

#include "model/job.h"

#include <QScopeGuard>

#include <sqlite3.h>

using namespace farm;
using namespace farm::server;
using namespace farm::server::test;

class TestRestApi : public QObject
{
    Q_OBJECT

    std::unique_ptr<TestServer> s;
    QString sha;

    QUrl ws() const { return QUrl(QString("ws://127.0.0.1:%1/ws/node").arg(s->server->port())); }
    /// Connects `node` as `name`; returns the task it was given, 0 when none came.
    qint64 joinAndTakeTask(WsClient &node, const QString &name)
    {
        if (!node.open(ws()))
            return -1;
        node.send("hello", nodeHello(name));
        if (node.waitFor("welcome") < 0)
            return -1;
        // Dispatch runs within hello, so an assignment precedes the answer to any later
        // message: an invalid one is answered with an error, which marks the point.
        node.send("task.accepted", {{"task", 0}});
        const int barrier = node.waitFor("error");
        for (int i = 0; i < barrier; ++i)
            if (node.received[i].type == "task.assign")
                return node.received[i].data.value("task").toInteger();
        return barrier < 0 ? -1 : 0;
    }
    QJsonArray outputsOf(qint64 job)
    {
        return s->get(QString("/api/v1/jobs/%1/outputs").arg(job))
            .json()
            .value("outputs")
            .toArray();
    }
    bool waitTaskState(qint64 task, const QString &state)
    {
        for (int i = 0; i < 500; ++i) {
            const auto t = s->store().task(task);
            if (t && toString(t->task.state) == state)
                return true;
            QTest::qWait(10);
        }
        return false;
    }

private slots:
    void initTestCase() { FARM_REQUIRE_TEST_DATABASE(); } // SQLite, or PostgreSQL in _pg

    void init()
    {
        s = std::make_unique<TestServer>();
        sha = s->upload("solid bytes of a model");
        QVERIFY(isSha256Hex(sha));
    }
    void cleanup() { s.reset(); }

    void healthStatusMetrics()
    {
        auto r = s->get("/health");
        QCOMPARE(r.status, 200);
        QCOMPARE(r.json().value("status").toString(), QString("ok"));
        QVERIFY(s->post("/api/v1/jobs", jobBody(sha)).status == 201);
        r = s->get("/api/v1/status");
        QCOMPARE(r.status, 200);
        QCOMPARE(r.json().value("protocol").toInt(), 1);
        QCOMPARE(r.json().value("jobs").toObject().value("queued").toInt(), 1);
        QCOMPARE(r.json().value("nodes").toObject().value("online").toInt(), 0);
        r = s->get("/metrics");
        QCOMPARE(r.status, 200);
        QVERIFY(r.body.contains("farm_jobs{state=\"queued\"} 1\n"));
        QVERIFY(r.body.contains("farm_tasks{state=\"queued\"} 2\n"));
        QVERIFY(r.body.contains("farm_nodes_online 0\n"));
        QVERIFY(r.body.contains("farm_tasks_dispatched_total 0\n"));
        QVERIFY(r.body.contains("farm_dispatch_latency_seconds_count 0\n"));
    }

    void unknownPathAndWrongMethod()
    {
        auto r = s->get("/api/v1/nope");
        QCOMPARE(r.status, 404);
        QCOMPARE(r.errorCode(), QString("not_found"));
        r = s->request("DELETE", "/api/v1/jobs");
        QCOMPARE(r.status, 405);
        r = s->get("/api/v1/jobs/12345");
        QCOMPARE(r.status, 404);
        r = s->get("/ws/events");
        QCOMPARE(r.status, 426);
    }

    void createListGetCancelDelete()
    {
        auto r = s->post("/api/v1/jobs", jobBody(sha, "1-5", 2));
        QCOMPARE(r.status, 201);
        const QJsonObject job = r.json();
        const qint64 id = job.value("id").toInteger();
        QCOMPARE(job.value("state").toString(), QString("queued"));
        QCOMPARE(job.value("tasks").toObject().value("total").toInt(), 3);
        QCOMPARE(job.value("settings").toObject().value("width").toInt(), 64);
        QVERIFY(job.value("created_at").isString());

        QCOMPARE(s->post("/api/v1/jobs", jobBody(sha)).status, 201);
        r = s->get("/api/v1/jobs?state=queued&limit=1&sort=created_at&order=asc");
        QCOMPARE(r.status, 200);
        QCOMPARE(r.json().value("total").toInt(), 2);
        QCOMPARE(r.json().value("jobs").toArray().size(), 1);
        QCOMPARE(r.json().value("jobs").toArray().first().toObject().value("id").toInteger(), id);
        QCOMPARE(s->get("/api/v1/jobs?q=api+job").json().value("total").toInt(), 2);
        QCOMPARE(s->get("/api/v1/jobs?q=api%2Bjob").json().value("total").toInt(), 0);
        QCOMPARE(s->get("/api/v1/jobs?state=bogus").status, 400);
        QCOMPARE(s->get("/api/v1/jobs?limit=0").status, 400);
        QCOMPARE(s->get("/api/v1/jobs?sort=evil;drop").status, 400);

        r = s->get(QString("/api/v1/jobs/%1/tasks").arg(id));
        QCOMPARE(r.json().value("tasks").toArray().size(), 3);
        QCOMPARE(r.json().value("tasks").toArray()[2].toObject().value("frames").toString(),
                 QString("5"));

        QCOMPARE(s->request("DELETE", QString("/api/v1/jobs/%1").arg(id)).status, 409);
        r = s->request("POST", QString("/api/v1/jobs/%1/cancel").arg(id));
        QCOMPARE(r.status, 200);
        QCOMPARE(r.json().value("state").toString(), QString("canceled"));
        QCOMPARE(r.json().value("tasks").toObject().value("canceled").toInt(), 3);
        QCOMPARE(s->request("POST", QString("/api/v1/jobs/%1/cancel").arg(id)).status, 409);
        QCOMPARE(s->request("DELETE", QString("/api/v1/jobs/%1").arg(id)).status, 204);
        QCOMPARE(s->get(QString("/api/v1/jobs/%1").arg(id)).status, 404);
    }

    // Keyed paging: a page's `next` sent back as `after` gives the jobs after its last row,
    // whatever was deleted (even that row) or added between the pages; none skipped or repeated.
    void pagesByKeyedCursor()
    {
        QStringList names; // by creation, oldest first
        QHash<QString, qint64> ids;
        for (int i = 0; i < 9; ++i) {
            QJsonObject body = jobBody(sha);
            body.insert("name", QString("page-%1").arg(i));
            body.insert("priority", 10 * (i % 3)); // ties for the priority order
            const auto r = s->post("/api/v1/jobs", body);
            QCOMPARE(r.status, 201);
            names.append(body.value("name").toString());
            ids.insert(names.last(), r.json().value("id").toInteger());
        }
        auto namesOf = [](const QJsonObject &page) {
            QStringList out;
            for (const QJsonValue &j : page.value("jobs").toArray())
                out.append(j.toObject().value("name").toString());
            return out;
        };
        auto remove = [&](const QString &name) {
            const qint64 id = ids.value(name);
            QCOMPARE(s->request("POST", QString("/api/v1/jobs/%1/cancel").arg(id)).status, 200);
            QCOMPARE(s->request("DELETE", QString("/api/v1/jobs/%1").arg(id)).status, 204);
        };
        // Newest first, 3 a page.
        auto r = s->get("/api/v1/jobs?limit=3");
        QCOMPARE(r.status, 200);
        QJsonObject page = r.json();
        QCOMPARE(namesOf(page), (QStringList{"page-8", "page-7", "page-6"}));
        QCOMPARE(page.value("total").toInt(), 9);
        QString next = page.value("next").toString();
        QVERIFY(!next.isEmpty());
        // Between the pages: a job of the first page goes, the page's last row too, and one
        // is added (it sorts before the cursor). An offset of 3 would now skip page-5.
        remove("page-7");
        remove("page-6");
        QCOMPARE(s->post("/api/v1/jobs", jobBody(sha)).status, 201);
        QCOMPARE(s->get("/api/v1/jobs?limit=3&offset=3")
                     .json()
                     .value("jobs")
                     .toArray()
                     .first()
                     .toObject()
                     .value("name")
                     .toString(),
                 QString("page-4"));
        r = s->get("/api/v1/jobs?limit=3&after=" + next);
        QCOMPARE(r.status, 200);
        page = r.json();
        QCOMPARE(namesOf(page), (QStringList{"page-5", "page-4", "page-3"}));
        QCOMPARE(page.value("total").toInt(), 8); // all the filter matches now
        // A job of the next page deleted: that page simply lacks it.
        remove("page-1");
        r = s->get("/api/v1/jobs?limit=3&after=" + page.value("next").toString());
        QCOMPARE(namesOf(r.json()), (QStringList{"page-2", "page-0"}));
        QVERIFY(!r.json().contains("next")); // not a full page: the last one

        // Other orders: by priority ascending (ties by id), with a filter, two a page.
        QStringList seen;
        QString after;
        for (int guard = 0; guard < 10; ++guard) {
            QString url = "/api/v1/jobs?q=page-&sort=priority&order=asc&limit=2";
            if (!after.isEmpty())
                url += "&after=" + after;
            page = s->get(url).json();
            seen += namesOf(page);
            after = page.value("next").toString();
            if (after.isEmpty())
                break;
            if (guard == 0)
                remove("page-3"); // priority 0: sorted before the cursor, already seen
        }
        QCOMPARE(seen, (QStringList{"page-0", "page-3", "page-4", "page-2", "page-5", "page-8"}));

        // A cursor belongs to its sort and order; a made-up one is refused, so is an offset.
        next = s->get("/api/v1/jobs?limit=1&sort=name").json().value("next").toString();
        QVERIFY(!next.isEmpty());
        QCOMPARE(s->get("/api/v1/jobs?limit=1&sort=name&after=" + next).status, 200);
        r = s->get("/api/v1/jobs?limit=1&sort=priority&after=" + next);
        QCOMPARE(r.status, 400);
        QVERIFY2(r.json().value("error").toObject().value("message").toString().contains(
                     "sorted by name desc"),
                 r.body.constData());
        QCOMPARE(s->get("/api/v1/jobs?limit=1&sort=name&order=asc&after=" + next).status, 400);
        QCOMPARE(s->get("/api/v1/jobs?after=bm90IGEgY3Vyc29y").status, 400);
        QCOMPARE(s->get("/api/v1/jobs?after=%25%25").status, 400);
        QCOMPARE(s->get("/api/v1/jobs?limit=1&sort=name&offset=1&after=" + next).status, 400);
    }

    // GET /api/v1/jobs may come from memory (api/joblistcache.h). A dashboard that got an
    // event about a job and then asks for the page sees what the event said, whatever changed
    // the job: a node's task messages, progress written in a batch, API actions; a change made
    // in the store without any event shows too.
    void jobsPageIsNeverStalerThanItsEvents()
    {
        // One frame: after its task.done nothing else changes the job (no next task).
        const qint64 a = s->post("/api/v1/jobs", jobBody(sha, "1")).json().value("id").toInteger();
        QVERIFY(a > 0);
        const auto inPage = [&](qint64 id) {
            const HttpResult r = s->get("/api/v1/jobs?limit=50");
            for (const QJsonValue &j : r.json().value("jobs").toArray())
                if (j.toObject().value("id").toInteger() == id)
                    return j.toObject();
            return QJsonObject();
        };
        WsClient dash;
        QVERIFY(dash.open(QUrl(QString("ws://127.0.0.1:%1/ws/events").arg(s->server->port()))));
        QCOMPARE(inPage(a).value("state").toString(), QString("queued")); // kept
        QCOMPARE(inPage(a).value("state").toString(), QString("queued")); // from memory
        int seen = 0;
        // The next job.updated that matches; the page asked for right after it agrees with it.
        const auto pageAgrees = [&](const std::function<bool(const QJsonObject &)> &match) {
            const int i = dash.waitFor("job.updated", seen, match);
            if (i < 0)
                return false;
            seen = i + 1;
            const QJsonObject event = dash.received[i].data;
            const QJsonObject row = inPage(event.value("id").toInteger());
            for (const char *key : {"state", "tasks", "progress", "priority"})
                if (row.value(key) != event.value(key)) {
                    qWarning() << key << "in the page:" << row.value(key)
                               << "in the event:" << event.value(key);
                    return false;
                }
            return true;
        };
        const auto tasks = [](const QJsonObject &job, const char *state) {
            return job.value("tasks").toObject().value(state).toInt();
        };

        WsClient node;
        const qint64 task = joinAndTakeTask(node, "n1");
        QVERIFY(task > 0);
        QCOMPARE(s->store().task(task)->task.jobId, a);
        node.send("task.progress", {{"task", task}, {"progress", 0.1}});
        QVERIFY(pageAgrees([&](const QJsonObject &j) { return tasks(j, "running") == 1; }));
        node.send("task.progress", {{"task", task}, {"progress", 0.6}}); // written in a batch
        QVERIFY(pageAgrees(
            [&](const QJsonObject &j) { return j.value("progress").toDouble() > 0.25; }));
        QCOMPARE(s->putOutput(node.secret(), task, "frame_0001.png", "png bytes").status, 200);
        node.send("task.done", {{"task", task}, {"outputs", QJsonArray{"frame_0001.png"}}});
        QVERIFY(pageAgrees([&](const QJsonObject &j) { return tasks(j, "done") == 1; }));
        QCOMPARE(inPage(a).value("state").toString(), QString("completed"));

        const qint64 b = s->post("/api/v1/jobs", jobBody(sha)).json().value("id").toInteger();
        QVERIFY(b > 0);
        QVERIFY(!inPage(b).isEmpty());

        QCOMPARE(s->post(QString("/api/v1/jobs/%1/priority").arg(b), {{"priority", 90}}).status,
                 200);
        QVERIFY(
            pageAgrees([&](const QJsonObject &j) { return j.value("priority").toInt() == 90; }));
        QCOMPARE(s->request("POST", QString("/api/v1/jobs/%1/pause").arg(b)).status, 200);
        QVERIFY(pageAgrees(
            [&](const QJsonObject &j) { return j.value("state").toString() == "paused"; }));
        // The store itself, no event: the next page has it all the same.
        QVERIFY(s->store().setJobPriority(b, 7).ok());
        QCOMPARE(inPage(b).value("priority").toInt(), 7);
        QCOMPARE(s->request("POST", QString("/api/v1/jobs/%1/cancel").arg(b)).status, 200);
        QCOMPARE(s->request("DELETE", QString("/api/v1/jobs/%1").arg(b)).status, 204);
        QVERIFY(inPage(b).isEmpty());
        QCOMPARE(s->get("/api/v1/jobs").json().value("total").toInt(), 1);
        QCOMPARE(inPage(a).value("state").toString(), QString("completed"));
    }

    // A page read while a transaction is open shows what the transaction wrote; it is not
    // kept, and after a rollback the page is as before.
    void jobsPageAfterARollback()
    {
        const qint64 id = s->post("/api/v1/jobs", jobBody(sha)).json().value("id").toInteger();
        const auto state = [&] {
            return s->get("/api/v1/jobs").json().value("jobs")[0].toObject().value("state");
        };
        QCOMPARE(state().toString(), QString("queued"));
        {
            Transaction tx(s->store());
            Job j = *s->store().job(id);
            j.state = JobState::Paused;
            QVERIFY(s->store().updateJob(j).ok());
            QCOMPARE(state().toString(), QString("paused"));
            QCOMPARE(state().toString(), QString("paused"));
        } // rolled back
        QCOMPARE(state().toString(), QString("queued"));
    }

    // Many distinct queries: the pages and jobs kept stay within their bounds (here made
    // small), every answer is right, and the page asked for all along stays in memory. A page
    // from memory is the same bytes as the page built, in the form QJsonDocument writes.
    void jobsPageCacheIsBounded()
    {
        JobListCache &cache = s->server->jobList();
        QCOMPARE(cache.enabled(), !TestDatabase::postgres()); // off where controllers share
        cache.setLimits({4, 64 * 1024, 5, 4 * 1024});
        for (int i = 0; i < 8; ++i) {
            QJsonObject body = jobBody(sha);
            body.insert("name", QString("bound-%1").arg(i));
            QCOMPARE(s->post("/api/v1/jobs", body).status, 201);
        }
        const HttpResult first = s->get("/api/v1/jobs?limit=50");
        QCOMPARE(first.status, 200);
        QCOMPARE(first.contentType, QByteArray("application/json"));
        QCOMPARE(QJsonDocument(first.json()).toJson(QJsonDocument::Compact), first.body);
        QCOMPARE(first.json().value("jobs").toArray().size(), 8);
        const quint64 hitsBefore = cache.stats().hits;
        for (int i = 0; i < 40; ++i) {
            const HttpResult r =
                s->get(QString("/api/v1/jobs?q=bound-%1&limit=%2").arg(i % 8).arg(1 + i / 8));
            QCOMPARE(r.json().value("total").toInt(), 1);
            QCOMPARE(r.json().value("jobs")[0].toObject().value("name").toString(),
                     QString("bound-%1").arg(i % 8));
            QCOMPARE(s->get("/api/v1/jobs?limit=50").body, first.body);
            const JobListCache::Stats st = cache.stats();
            QVERIFY2(st.pages <= 4 && st.pageBytes <= 64 * 1024,
                     qPrintable(QString("%1 pages, %2 bytes").arg(st.pages).arg(st.pageBytes)));
            QVERIFY2(st.jobs <= 5 && st.jobBytes <= 4 * 1024,
                     qPrintable(QString("%1 jobs, %2 bytes").arg(st.jobs).arg(st.jobBytes)));
        }
        if (TestDatabase::postgres())
            QCOMPARE(cache.stats().hits, hitsBefore); // off: every page from the database
        else
            QVERIFY(cache.stats().hits >= hitsBefore + 40);
    }

    void pauseResume()
    {
        const qint64 id = s->post("/api/v1/jobs", jobBody(sha)).json().value("id").toInteger();
        auto r = s->request("POST", QString("/api/v1/jobs/%1/pause").arg(id));
        QCOMPARE(r.json().value("state").toString(), QString("paused"));
        r = s->request("POST", QString("/api/v1/jobs/%1/resume").arg(id));
        QCOMPARE(r.json().value("state").toString(), QString("queued"));
        r = s->get(QString("/api/v1/jobs/%1/explain").arg(id));
        QCOMPARE(r.status, 200);
        QVERIFY(r.json().value("reasons").toArray().first().toString().contains("no render node"));
        QCOMPARE(s->request("POST", QString("/api/v1/jobs/%1/retry").arg(id)).status, 409);
        QCOMPARE(s->request("POST", QString("/api/v1/jobs/%1/cancel").arg(id)).status, 200);
        r = s->request("POST", QString("/api/v1/jobs/%1/retry").arg(id));
        QCOMPARE(r.status, 200);
        QCOMPARE(r.json().value("state").toString(), QString("queued"));
        QCOMPARE(r.json().value("tasks").toObject().value("queued").toInt(), 2);
    }

    void badJobs_data()
    {
        QTest::addColumn<QByteArray>("body");
        QTest::addColumn<QString>("code");
        QTest::addColumn<QString>("mentions");
        auto with = [this](const char *key, const QJsonValue &v) {
            QJsonObject o = jobBody(sha);
            o.insert(key, v);
            return QJsonDocument(o).toJson();
        };
        QJsonObject settings{{"width", 5}, {"height", 48}};
        QTest::newRow("malformed json") << QByteArray("{\"name\": ") << "invalid_json"
                                        << "JSON";
        QTest::newRow("not an object") << QByteArray("[1,2]") << "invalid_json"
                                       << "object";
        QTest::newRow("unknown type") << with("type", "maya") << "invalid_field"
                                      << "maya";
        QTest::newRow("file the type does not take") << with("type", "blender") << "invalid_field"
                                                     << "blender jobs take .blend files";
        QTest::newRow("unknown setting")
            << with("settings", QJsonObject{{"colour", "red"}}) << "unknown_field"
            << "settings.colour";
        QTest::newRow("setting of the wrong type")
            << with("settings", QJsonObject{{"camera", QJsonObject{{"mode", 3}}}})
            << "invalid_field"
            << "settings.camera.mode must be a string";
        QTest::newRow("hidden setting")
            << with("settings", QJsonObject{{"camera", QJsonObject{{"ortho_width", 2.5}}}})
            << "invalid_field"
            << "applies only when settings.camera.projection is 'orthographic'";
        QTest::newRow("path escaping the bundle")
            << with("input", QJsonObject{{"main", "../x.glb"},
                                         {"files", QJsonArray{QJsonObject{{"path", "../x.glb"},
                                                                          {"file", sha}}}}})
            << "invalid_field"
            << "inside the bundle";
        QTest::newRow("absolute path")
            << with("input", QJsonObject{{"main", "/etc/x.glb"},
                                         {"files", QJsonArray{QJsonObject{{"path", "/etc/x.glb"},
                                                                          {"file", sha}}}}})
            << "invalid_field"
            << "inside the bundle";
        QTest::newRow("main not in the bundle")
            << with("input", QJsonObject{{"main", "y.glb"},
                                         {"files", QJsonArray{QJsonObject{{"path", "x.glb"},
                                                                          {"file", sha}}}}})
            << "invalid_field"
            << "not one of input.files";
        QTest::newRow("bad frame range") << with("frames", "10-1") << "invalid_field"
                                         << "frames";
        QTest::newRow("bad resolution") << with("settings", settings) << "invalid_field"
                                        << "settings.width";
        QTest::newRow("unknown field") << with("colour", "red") << "unknown_field"
                                       << "colour";
        QTest::newRow("missing file")
            << with("input", QJsonObject{{"file", QString(64, 'e')}, {"name", "x.glb"}})
            << "invalid_field"
            << "input.files[0] 'x.glb': no uploaded file";
        QTest::newRow("bad chunk") << with("chunk", 0) << "invalid_field"
                                   << "chunk";
        // Qt reads "\ud800" alone into a string that UTF-8 cannot hold: refused, not stored.
        const auto escaped = [](QByteArray json, const char *unit) {
            return json.replace("@@", unit);
        };
        QTest::newRow("unpaired surrogate in the name")
            << escaped(with("name", "a@@b"), "\\ud800") << "invalid_json"
            << "name contains an unpaired UTF-16 surrogate (\\ud800)";
        QTest::newRow("unpaired surrogate in a setting")
            << escaped(with("settings", QJsonObject{{"camera", QJsonObject{{"mode", "@@"}}}}),
                       "\\udc00")
            << "invalid_json"
            << "settings.camera.mode contains an unpaired UTF-16 surrogate (\\udc00)";
    }
    void badJobs()
    {
        QFETCH(QByteArray, body);
        QFETCH(QString, code);
        QFETCH(QString, mentions);
        const auto r = s->request("POST", "/api/v1/jobs", body);
        QCOMPARE(r.status, 400);
        QCOMPARE(r.errorCode(), code);
        const QString message = r.json().value("error").toObject().value("message").toString();
        QVERIFY2(message.contains(mentions), qPrintable(message));
        QCOMPARE(s->get("/api/v1/jobs").json().value("total").toInt(), 0);
    }

    void chunkedUploadResumes()
    {
        QByteArray data(8 * 1024 * 1024 + 1000, Qt::Uninitialized);
        for (int i = 0; i < data.size(); ++i)
            data[i] = char(i * 31 + (i >> 13));
        const QString hash = QCryptographicHash::hash(data, QCryptographicHash::Sha256).toHex();
        auto r = s->post("/api/v1/uploads",
                         {{"name", "big.bin"}, {"size", data.size()}, {"sha256", hash}});
        QCOMPARE(r.status, 201);
        const QString id = r.json().value("id").toString();
        QCOMPARE(r.json().value("chunks").toInt(), 2);
        QCOMPARE(r.json().value("chunk_size").toInt(), 8 * 1024 * 1024);
        const QString chunkPath = "/api/v1/uploads/" + id + "/chunks/%1";

        r = s->request("PUT", chunkPath.arg(1), data.mid(8 * 1024 * 1024),
                       "application/octet-stream");
        QCOMPARE(r.status, 200);
        QCOMPARE(r.json().value("received").toArray(), QJsonArray{1});
        // Interrupted here: the client asks what arrived and sends only the rest.
        r = s->get("/api/v1/uploads/" + id);
        QCOMPARE(r.json().value("received").toArray(), QJsonArray{1});
        r = s->request("POST", "/api/v1/uploads/" + id + "/complete");
        QCOMPARE(r.status, 400);
        QCOMPARE(r.errorCode(), QString("incomplete"));
        QCOMPARE(s->request("PUT", chunkPath.arg(0), "short", "application/octet-stream").status,
                 400);
        QCOMPARE(s->request("PUT", chunkPath.arg(2), "x", "application/octet-stream").status, 400);
        r = s->request("PUT", chunkPath.arg(0), data.left(8 * 1024 * 1024),
                       "application/octet-stream");
        QCOMPARE(r.json().value("received").toArray(), (QJsonArray{0, 1}));
        r = s->request("POST", "/api/v1/uploads/" + id + "/complete");
        QCOMPARE(r.status, 200);
        QCOMPARE(r.json().value("file").toString(), hash);

        r = s->get("/api/v1/files/" + hash);
        QCOMPARE(r.status, 200);
        QVERIFY(r.body == data);
        QCOMPARE(s->request("HEAD", "/api/v1/files/" + hash).status, 200);
        QCOMPARE(s->get("/api/v1/files/" + QString(64, 'f')).status, 404);
        // Dedupe: the same bytes again need no upload.
        r = s->post("/api/v1/uploads",
                    {{"name", "again.bin"}, {"size", data.size()}, {"sha256", hash}});
        QCOMPARE(r.status, 200);
        QCOMPARE(r.json().value("exists").toBool(), true);
    }

    void wrongHashIsRejected()
    {
        auto r = s->post("/api/v1/uploads",
                         {{"name", "a.bin"}, {"size", 4}, {"sha256", QString(64, 'c')}});
        const QString id = r.json().value("id").toString();
        QCOMPARE(s->request("PUT", "/api/v1/uploads/" + id + "/chunks/0", "abcd",
                            "application/octet-stream")
                     .status,
                 200);
        r = s->request("POST", "/api/v1/uploads/" + id + "/complete");
        QCOMPARE(r.status, 400);
        QCOMPARE(r.errorCode(), QString("hash_mismatch"));
        QCOMPARE(s->get("/api/v1/files/" + QString(64, 'c')).status, 404);
        QCOMPARE(s->post("/api/v1/uploads",
                         {{"name", "../a"}, {"size", 4}, {"sha256", QString(64, 'c')}})
                     .status,
                 400);
        QCOMPARE(
            s->post("/api/v1/uploads", {{"name", "a"}, {"size", 0}, {"sha256", QString(64, 'c')}})
                .status,
            400);
    }

    void oversizedBodyIsRefusedBeforeReading()
    {
        QTcpSocket raw;
        raw.connectToHost(QHostAddress::LocalHost, s->server->port());
        for (int i = 0; i < 500 && raw.state() != QAbstractSocket::ConnectedState; ++i)
            QTest::qWait(10); // the server runs on this thread: never block it
        raw.write("PUT /api/v1/uploads/0123456789abcdef0123456789abcdef/chunks/0 HTTP/1.1\r\n"
                  "Host: x\r\nContent-Length: 900000000\r\n\r\n");
        QByteArray answer;
        for (int i = 0; i < 500 && !answer.contains("too_large"); ++i) {
            QTest::qWait(10);
            answer += raw.readAll();
        }
        QVERIFY2(answer.startsWith("HTTP/1.1 413"), answer.constData());
        QVERIFY(answer.contains("too_large"));
    }

    void outputsUploadAndDownload()
    {
        const qint64 jobId =
            s->post("/api/v1/jobs", jobBody(sha, "7", 1)).json().value("id").toInteger();
        WsClient node;
        const qint64 taskId = joinAndTakeTask(node, "n1");
        QVERIFY(taskId > 0);
        const QByteArray secret = node.secret();
        const QByteArray png("\x89PNG\r\n\x1a\nnot really", 18);
        auto r = s->putOutput(secret, taskId, "frame_0007.png", png);
        QCOMPARE(r.status, 200);
        QCOMPARE(r.json().value("size").toInt(), png.size());
        QCOMPARE(s->putOutput(secret, taskId, ".hidden", png).status, 400);
        QCOMPARE(s->putOutput(secret, taskId, "a..b", png).status, 400);
        QCOMPARE(s->putOutput(secret, taskId, "a%2F..%2Fb", png).status, 404);
        QCOMPARE(s->putOutput(secret, 999999, "x.png", png).status, 404);

        r = s->get(QString("/api/v1/jobs/%1/outputs").arg(jobId));
        const QJsonObject o = r.json().value("outputs").toArray().first().toObject();
        QCOMPARE(o.value("name").toString(), QString("frame_0007.png"));
        QCOMPARE(o.value("frame").toInt(), 7);
        QCOMPARE(o.value("task_id").toInteger(), taskId);
        r = s->get(QString("/api/v1/jobs/%1/outputs/frame_0007.png").arg(jobId));
        QCOMPARE(r.status, 200);
        QCOMPARE(r.body, png);
        QCOMPARE(r.contentType, QByteArray("image/png"));
        QCOMPARE(s->get(QString("/api/v1/jobs/%1/outputs/nope.png").arg(jobId)).status, 404);
        QVERIFY(
            QFile::exists(s->dir.filePath(QString("data/outputs/%1/frame_0007.png").arg(jobId))));

        QCOMPARE(s->request("POST", QString("/api/v1/jobs/%1/cancel").arg(jobId)).status, 200);
        r = s->putOutput(secret, taskId, "frame_0007.png", "overwritten");
        QCOMPARE(r.status, 409);
        QCOMPARE(r.errorCode(), QString("task_not_running"));
        QCOMPARE(s->get(QString("/api/v1/jobs/%1/outputs/frame_0007.png").arg(jobId)).body, png);
        QCOMPARE(s->request("DELETE", QString("/api/v1/jobs/%1").arg(jobId)).status, 204);
        QVERIFY(!QFile::exists(s->dir.filePath(QString("data/outputs/%1").arg(jobId))));
    }

    // Output rows of uploads whose files land in the same turn of the event loop are written
    // in one transaction (jobsapi.cpp, OutputRows); each upload is still checked and answered
    // on its own, after that commit: one refused in the batch changes nothing for the others.
    void outputsLandedTogetherCommitTogether()
    {
        constexpr int n = 5;
        const qint64 jobId =
            s->post("/api/v1/jobs", jobBody(sha, "1-5", 1)).json().value("id").toInteger();
        std::vector<std::unique_ptr<WsClient>> nodes;
        QList<qint64> tasks;
        for (int i = 0; i < n; ++i) {
            nodes.push_back(std::make_unique<WsClient>());
            tasks.append(joinAndTakeTask(*nodes.back(), QString("batch%1").arg(i)));
            QVERIFY(tasks.last() > 0);
        }
        // SQLite: the most output rows one commit carried (the store's row changes, commits).
        struct Tally
        {
            int rows = 0, most = 0;
        } tally;
        sqlite3 *db = s->store().sqliteHandle();
        const int watch = s->store().watchRows({[&tally](const char *table, qint64) {
                                                    if (qstrcmp(table, "outputs") == 0)
                                                        ++tally.rows;
                                                },
                                                {}});
        if (db)
            sqlite3_commit_hook(
                db,
                [](void *p) {
                    auto *t = static_cast<Tally *>(p);
                    t->most = qMax(t->most, std::exchange(t->rows, 0));
                    return 0;
                },
                &tally);
        const auto unhook = qScopeGuard([&] {
            if (db)
                sqlite3_commit_hook(db, nullptr, nullptr);
            s->store().unwatchRows(watch);
        });
        // Every request whole in the kernel before the event loop turns again: each node its
        // own frame, and the last node one more to the first node's task (refused).
        const auto request = [&](int node, qint64 task, const QString &name) {
            const QByteArray body = QString("frame from node %1").arg(node).toUtf8();
            return QString("PUT /api/v1/tasks/%1/outputs/%2 HTTP/1.1\r\nHost: x\r\n"
                           "Authorization: Bearer %3\r\nContent-Type: application/octet-stream"
                           "\r\nContent-Length: %4\r\n\r\n")
                       .arg(task)
                       .arg(name, QString::fromLatin1(nodes[node]->secret()))
                       .arg(body.size())
                       .toLatin1() +
                   body;
        };
        std::vector<std::unique_ptr<farm::test::RawClient>> clients;
        for (int i = 0; i <= n; ++i) {
            clients.push_back(std::make_unique<farm::test::RawClient>(s->server->port()));
            QCOMPARE(clients.back()->socket.state(), QAbstractSocket::ConnectedState);
        }
        for (int i = 0; i < n; ++i)
            clients[i]->write(
                request(i, tasks[i], QString("frame_%1.png").arg(i + 1, 4, 10, QChar('0'))));
        clients[n]->write(request(n - 1, tasks[0], "frame_0001.png"));
        for (auto &c : clients)
            QVERIFY(c->socket.waitForBytesWritten(5000));
        // Turns of the event loop far apart: files written and synced meanwhile land together.
        QThread::msleep(300);
        QList<farm::test::RawResponse> answers(n + 1);
        for (int waited = 0; waited < 20000; waited += 100) {
            QCoreApplication::processEvents();
            bool all = true;
            for (int i = 0; i <= n; ++i) {
                if (!answers[i].complete)
                    answers[i] = farm::test::takeResponse(clients[i]->buffer);
                all = all && answers[i].complete;
            }
            if (all)
                break;
            QThread::msleep(100);
        }
        for (int i = 0; i < n; ++i)
            QVERIFY2(answers[i].status == 200, answers[i].body.constData());
        QCOMPARE(answers[n].status, 403);
        QCOMPARE(answers[n].code(), QString("not_your_task"));
        const QJsonArray outputs = outputsOf(jobId);
        QCOMPARE(outputs.size(), n);
        for (int i = 0; i < n; ++i) {
            const QString name = QString("frame_%1.png").arg(i + 1, 4, 10, QChar('0'));
            QCOMPARE(s->get(QString("/api/v1/jobs/%1/outputs/%2").arg(jobId).arg(name)).body,
                     QString("frame from node %1").arg(i).toUtf8());
        }
        if (db)
            QVERIFY2(tally.most >= 2,
                     qPrintable(QString("at most %1 output row(s) in one commit").arg(tally.most)));
    }

    // Only the node a task is assigned to writes its outputs, and only while it runs it.
    void outputsOnlyFromTheTasksNode()
    {
        const qint64 jobId =
            s->post("/api/v1/jobs", jobBody(sha, "1", 1)).json().value("id").toInteger();
        WsClient owner, other;
        const qint64 task = joinAndTakeTask(owner, "owner");
        QVERIFY(task > 0);
        QCOMPARE(joinAndTakeTask(other, "other"), 0); // idle: the only task is the owner's
        const QString name = "frame_0001.png";

        auto r = s->putOutput({}, task, name, "from a client"); // trusted loopback, no node
        QCOMPARE(r.status, 403);
        QCOMPARE(r.errorCode(), QString("not_your_task"));
        r = s->putOutput(other.secret(), task, name, "from another node");
        QCOMPARE(r.status, 403);
        QCOMPARE(r.errorCode(), QString("not_your_task"));
        QVERIFY2(r.json().value("error").toObject().value("message").toString().contains("owner"),
                 r.body.constData());
        QCOMPARE(s->putOutput("no-such-secret", task, name, "guess").status, 403);
        QVERIFY(s->get(QString("/api/v1/jobs/%1/outputs").arg(jobId))
                    .json()
                    .value("outputs")
                    .toArray()
                    .isEmpty());

        QCOMPARE(s->putOutput(owner.secret(), task, name, "the frame").status, 200);
        owner.send("task.done", {{"task", task}, {"outputs", QJsonArray{name}}});
        QVERIFY(waitTaskState(task, "done"));
        for (const QByteArray &token : {owner.secret(), other.secret(), QByteArray()}) {
            r = s->putOutput(token, task, name, "after done");
            QVERIFY2(r.status == 409 || r.status == 403, r.body.constData());
        }
        r = s->putOutput(owner.secret(), task, name, "after done");
        QCOMPARE(r.status, 409);
        QCOMPARE(r.errorCode(), QString("task_not_running"));
        QCOMPARE(s->get(QString("/api/v1/jobs/%1/outputs/%2").arg(jobId).arg(name)).body,
                 QByteArray("the frame"));
    }

    // A node that lost its task (socket gone, task re-queued, then given to another node) is
    // refused with a reason; the new holder's upload works.
    void outputsRefusedAfterLeaseLoss()
    {
        const qint64 jobId =
            s->post("/api/v1/jobs", jobBody(sha, "1", 1)).json().value("id").toInteger();
        auto lost = std::make_unique<WsClient>();
        const qint64 task = joinAndTakeTask(*lost, "lost");
        QVERIFY(task > 0);
        const QByteArray lostSecret = lost->secret();
        lost->socket.abort();
        lost.reset();
        QVERIFY(waitTaskState(task, "queued"));
        // Back in the queue but kept for the lost node to claim on reconnect: retry, not stop.
        auto r = s->putOutput(lostSecret, task, "frame_0001.png", "late");
        QCOMPARE(r.status, 503);
        QCOMPARE(r.errorCode(), QString("task_orphaned"));
        QVERIFY(r.json().value("error").toObject().value("message").toString().contains("queue"));
        QVERIFY(outputsOf(jobId).isEmpty());

        WsClient heir;
        QCOMPARE(joinAndTakeTask(heir, "heir"), task);
        r = s->putOutput(lostSecret, task, "frame_0001.png", "late");
        QCOMPARE(r.status, 403);
        QCOMPARE(r.errorCode(), QString("not_your_task"));
        QCOMPARE(s->putOutput(heir.secret(), task, "frame_0001.png", "fresh").status, 200);
        // The job is canceled: nobody writes its outputs any more.
        QCOMPARE(s->request("POST", QString("/api/v1/jobs/%1/cancel").arg(jobId)).status, 200);
        for (const QByteArray &token : {lostSecret, heir.secret()}) {
            r = s->putOutput(token, task, "frame_0001.png", "after cancel");
            QCOMPARE(r.status, 409);
            QCOMPARE(r.errorCode(), QString("task_not_running"));
        }
        QCOMPARE(s->get(QString("/api/v1/jobs/%1/outputs/frame_0001.png").arg(jobId)).body,
                 QByteArray("fresh"));
    }

    void tokensOnOutputUploads()
    {
        ServerConfig c;
        c.trustLoopback = false;
        c.token = "client-secret";
        c.joinToken = "join-secret";
        TestServer guarded(c);
        guarded.bearer = "client-secret";
        const QString file = guarded.upload("model bytes");
        QCOMPARE(guarded.post("/api/v1/jobs", jobBody(file, "1", 1)).status, 201);
        WsClient node;
        QVERIFY(node.open(QUrl(QString("ws://127.0.0.1:%1/ws/node").arg(guarded.server->port()))));
        node.send("hello", nodeHello("n", 1, "join-secret"));
        const int assign = node.waitFor("task.assign");
        QVERIFY(assign >= 0);
        const qint64 task = node.received[assign].data.value("task").toInteger();
        QCOMPARE(guarded.putOutput({}, task, "frame_0001.png", "x").status, 401);
        for (const QByteArray &token : {QByteArray("client-secret"), QByteArray("join-secret")}) {
            const auto r = guarded.putOutput(token, task, "frame_0001.png", "x");
            QCOMPARE(r.status, 403);
            QCOMPARE(r.errorCode(), QString("not_your_task"));
        }
        QCOMPARE(guarded.putOutput(node.secret(), task, "frame_0001.png", "x").status, 200);
        // The node's secret also fetches its inputs, but is no client token.
        guarded.bearer = node.secret();
        QCOMPARE(guarded.get("/api/v1/files/" + file).status, 200);
        QCOMPARE(guarded.get("/api/v1/jobs").status, 401);
    }

    // DELETE /api/v1/nodes/{id} releases the name of an offline node only.
    void forgetNode()
    {
        auto first = std::make_unique<WsClient>();
        QCOMPARE(joinAndTakeTask(*first, "box"), 0);
        const qint64 id = s->get("/api/v1/nodes")
                              .json()
                              .value("nodes")
                              .toArray()[0]
                              .toObject()
                              .value("id")
                              .toInteger();
        auto r = s->request("DELETE", QString("/api/v1/nodes/%1").arg(id));
        QCOMPARE(r.status, 409);
        QVERIFY(r.json().value("error").toObject().value("message").toString().contains("online"));
        first->socket.abort();
        first.reset();
        for (int i = 0; i < 500 && s->server->scheduler().onlineCount() > 0; ++i)
            QTest::qWait(10);
        WsClient impostor;
        QVERIFY(impostor.open(ws()));
        impostor.send("hello", nodeHello("box"));
        const int e = impostor.waitFor("error");
        QVERIFY(e >= 0);
        QCOMPARE(impostor.received[e].data.value("code").toString(), QString("name_taken"));
        QVERIFY(impostor.waitClosed());
        QCOMPARE(s->request("DELETE", QString("/api/v1/nodes/%1").arg(id)).status, 204);
        QCOMPARE(s->request("DELETE", QString("/api/v1/nodes/%1").arg(id)).status, 404);
        QVERIFY(s->get("/api/v1/nodes").json().value("nodes").toArray().isEmpty());
        WsClient reinstalled;
        QCOMPARE(joinAndTakeTask(reinstalled, "box"), 0);
        QVERIFY(!reinstalled.secret().isEmpty());
    }

    void webUiFiles()
    {
        if (!QFile::exists(":/web/index.html"))
            QSKIP("the web UI is not compiled in");
        auto r = s->get("/");
        QCOMPARE(r.status, 200);
        QVERIFY(r.contentType.startsWith("text/html"));
        QCOMPARE(s->get("/css/nope.css").status, 404);
        QCOMPARE(s->get("/css/nope.css").errorCode(), QString("not_found"));
    }

    void tokensWhenLoopbackIsNotTrusted()
    {
        ServerConfig c;
        c.trustLoopback = false;
        c.token = "client-secret";
        c.joinToken = "node-secret";
        TestServer guarded(c);
        QCOMPARE(guarded.get("/health").status, 200);
        auto r = guarded.get("/api/v1/jobs");
        QCOMPARE(r.status, 401);
        QCOMPARE(r.errorCode(), QString("unauthorized"));
        guarded.bearer = "node-secret"; // nodes may fetch files but not list jobs
        QCOMPARE(guarded.get("/api/v1/jobs").status, 401);
        QCOMPARE(guarded.get("/api/v1/files/" + QString(64, 'a')).status, 404);
        guarded.bearer = "client-secret";
        QCOMPARE(guarded.get("/api/v1/jobs").status, 200);
    }
};

QTEST_GUILESS_MAIN(TestRestApi)
#include "tst_restapi.moc"
