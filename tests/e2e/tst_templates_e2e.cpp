// Template sets and render passes through the real farm: farm-server + one render-node render
// a 42-view template set of a real model and a model job with data passes; every file lands,
// downloads with a fitting content type, and holds what its name promises.
#include "farmfixture.h"

#include <QDateTime>
#include <QDir>
#include <QFile>
#include <QImage>
#include <QJsonArray>
#include <QJsonDocument>
#include <QProcess>
#include <QRegularExpression>
#include <QSet>
#include <QTemporaryDir>
#include <QtEndian>
#include <QtTest>

#include <cstring>

namespace {

constexpr int kViews = 42;

/// Name → output object of a job.
QHash<QString, QJsonObject> outputsOf(FarmFixture &farm, qint64 job)
{
    QHash<QString, QJsonObject> out;
    const QJsonArray list =
        farm.get(QString("/api/v1/jobs/%1/outputs").arg(job)).json().value("outputs").toArray();
    for (const QJsonValue &o : list)
        out.insert(o.toObject().value("name").toString(), o.toObject());
    return out;
}

/// A parsed .npy (format 1.0/2.0, little-endian float32 only).
struct Npy
{
    QString error;
    QList<int> shape;
    QList<float> values;
};

Npy parseNpy(const QByteArray &bytes)
{
    Npy n;
    if (!bytes.startsWith("\x93NUMPY") || bytes.size() < 10) {
        n.error = "no NUMPY magic";
        return n;
    }
    const int major = quint8(bytes[6]);
    const int headerLen = major == 1 ? qFromLittleEndian<quint16>(bytes.constData() + 8)
                                     : int(qFromLittleEndian<quint32>(bytes.constData() + 8));
    const int start = major == 1 ? 10 : 12;
    const QString header = QString::fromLatin1(bytes.mid(start, headerLen));
    if (!header.contains("'descr': '<f4'") || !header.contains("'fortran_order': False")) {
        n.error = "not little-endian C-order float32: " + header;
        return n;
    }
    static const QRegularExpression shapeRe("'shape': \\(([^)]*)\\)");
    const auto m = shapeRe.match(header);
    if (!m.hasMatch()) {
        n.error = "no shape: " + header;
        return n;
    }
    qint64 count = 1;
    for (const QString &d : m.captured(1).split(',', Qt::SkipEmptyParts)) {
        n.shape.append(d.trimmed().toInt());
        count *= n.shape.last();
    }
    const QByteArray data = bytes.mid(start + headerLen);
    if (data.size() != count * 4) {
        n.error = QString("%1 data bytes for %2 values").arg(data.size()).arg(count);
        return n;
    }
    n.values.resize(count);
    std::memcpy(n.values.data(), data.constData(), size_t(data.size()));
    return n;
}

} // namespace

class TestTemplatesEndToEnd : public QObject
{
    Q_OBJECT

    FarmFixture *m_farm = nullptr;
    QString m_sha;

private slots:
    void initTestCase()
    {
        FARM_E2E_REQUIRE(kEngine);
        m_farm = new FarmFixture;
        QVERIFY(m_farm->startServer());
        QVERIFY(m_farm->startNode("tpl-node"));
        QVERIFY(m_farm->waitUntil([&] { return m_farm->onlineNodes() == 1; }, 20000));
        m_sha = m_farm->upload(readFile(kEngine), "2CylinderEngine.glb");
        QVERIFY(!m_sha.isEmpty());
    }

    void cleanupTestCase() { delete m_farm; }

    void templateSet()
    {
        FarmFixture &farm = *m_farm;
        const qint64 job = farm.submit(QJsonObject{
            {"name", "engine templates"},
            {"type", "templates"},
            {"input", QJsonObject{{"file", m_sha}, {"name", "2CylinderEngine.glb"}}},
            {"settings", QJsonObject{{"width", 160},
                                     {"height", 120},
                                     {"spp", 4},
                                     {"views", kViews},
                                     {"passes", QJsonArray{"rgb", "mask", "xyz", "depth"}}}}});
        QVERIFY(job > 0);
        const QJsonObject done = farm.waitForJob(job, 240000);
        QCOMPARE(done.value("state").toString(), QString("completed"));
        QCOMPARE(done.value("tasks").toObject().value("total").toInt(), 1); // one render
        QCOMPARE(done.value("settings").toObject().value("views").toInt(), kViews);
        // Reported, never asserted: how long the one task of 42 views took on this machine.
        const QDateTime started =
            QDateTime::fromString(done.value("started_at").toString(), Qt::ISODateWithMs);
        const QDateTime finished =
            QDateTime::fromString(done.value("finished_at").toString(), Qt::ISODateWithMs);
        qInfo("template set of %d views at 160x120, 4 spp: %lld ms from start to completion",
              kViews, started.msecsTo(finished));

        const QHash<QString, QJsonObject> outputs = outputsOf(farm, job);
        for (int v = 0; v < kViews; ++v) {
            for (const char *f : {"rgb_%1.png", "mask_%1.png", "xyz_%1.npy", "depth_%1.png"}) {
                const QString name = QString(f).arg(v);
                QVERIFY2(outputs.contains(name), qPrintable(name + " is missing"));
                QCOMPARE(outputs[name].value("frame").toInt(-1), v); // the view index
            }
        }
        for (const char *f : {"cameras.json", "poses.npy", "intrinsics.npy"}) {
            QVERIFY2(outputs.contains(f), f);
            QVERIFY(outputs[f].value("frame").isNull());
        }

        // Every listed output downloads with its listed size.
        const QString base = QString("/api/v1/jobs/%1/outputs/").arg(job);
        QHash<QString, FarmFixture::Reply> got;
        for (auto it = outputs.cbegin(); it != outputs.cend(); ++it) {
            const FarmFixture::Reply r = farm.get(base + it.key());
            QCOMPARE(r.status, 200);
            QCOMPARE(qint64(r.body.size()), it.value().value("size").toInteger());
            got.insert(it.key(), r);
        }
        QCOMPARE(got["rgb_0.png"].contentType, QByteArray("image/png"));
        QCOMPARE(got["xyz_12.npy"].contentType, QByteArray("application/octet-stream"));
        QCOMPARE(got["cameras.json"].contentType, QByteArray("application/json"));

        // The mask has object pixels and background pixels.
        const QImage mask =
            QImage::fromData(got["mask_5.png"].body).convertToFormat(QImage::Format_Grayscale8);
        QCOMPARE(mask.size(), QSize(160, 120));
        int object = 0;
        for (int y = 0; y < mask.height(); ++y)
            for (int x = 0; x < mask.width(); ++x)
                object += qGray(mask.pixel(x, y)) > 127 ? 1 : 0;
        QVERIFY2(object > 100 && object < 160 * 120, qPrintable(QString::number(object)));

        // NOCS: float32 120×160×3 in [0, 1], not all background.
        const Npy xyz = parseNpy(got["xyz_5.npy"].body);
        QVERIFY2(xyz.error.isEmpty(), qPrintable(xyz.error));
        QCOMPARE(xyz.shape, (QList<int>{120, 160, 3}));
        int nonZero = 0;
        for (float f : xyz.values) {
            QVERIFY2(f >= 0.f && f <= 1.f, qPrintable(QString::number(f)));
            nonZero += f > 0.f ? 1 : 0;
        }
        QVERIFY(nonZero > 100);

        const Npy poses = parseNpy(got["poses.npy"].body);
        QVERIFY2(poses.error.isEmpty(), qPrintable(poses.error));
        QCOMPARE(poses.shape, (QList<int>{kViews, 4, 4}));
        const Npy intrinsics = parseNpy(got["intrinsics.npy"].body);
        QVERIFY2(intrinsics.error.isEmpty(), qPrintable(intrinsics.error));
        QCOMPARE(intrinsics.shape, (QList<int>{3, 3}));

        // farmctl download fetches the whole set, data files included.
        const QString farmctl = FarmFixture::binary("shared/farmctl/farmctl");
        if (QFile::exists(farmctl)) {
            QTemporaryDir out;
            QProcess download;
            download.start(farmctl, {"--server", farm.serverUrl(), "download", QString::number(job),
                                     out.path()});
            QVERIFY(download.waitForFinished(60000));
            QCOMPARE(download.exitCode(), 0);
            const QStringList files = QDir(out.path()).entryList(QDir::Files);
            QCOMPARE(files.size(), outputs.size());
            QCOMPARE(readFile(out.filePath("poses.npy")), got["poses.npy"].body);
        }

        const QJsonObject cameras = QJsonDocument::fromJson(got["cameras.json"].body).object();
        QCOMPARE(cameras.value("views").toArray().size(), kViews);
        QCOMPARE(cameras.value("width").toInt(), 160);
        QCOMPARE(cameras.value("height").toInt(), 120);
    }

    void sam6dPreset()
    {
        // The preset's download is SAM-6D's templates folder: 42 rgb/mask/xyz triples, the
        // xyz as float16 in model units, cameras.json and no other .npy (docs/TEMPLATES.md).
        FarmFixture &farm = *m_farm;
        const qint64 job = farm.submit(QJsonObject{
            {"name", "engine sam6d"},
            {"type", "templates"},
            {"input", QJsonObject{{"file", m_sha}, {"name", "2CylinderEngine.glb"}}},
            {"settings", QJsonObject{{"width", 96}, {"height", 72}, {"preset", "sam6d"}}}});
        QVERIFY(job > 0);
        const QJsonObject done = farm.waitForJob(job, 240000);
        QCOMPARE(done.value("state").toString(), QString("completed"));
        QCOMPARE(done.value("settings").toObject().value("preset").toString(), QString("sam6d"));
        const QHash<QString, QJsonObject> outputs = outputsOf(farm, job);
        int npy = 0;
        for (auto it = outputs.cbegin(); it != outputs.cend(); ++it)
            npy += it.key().endsWith(".npy") ? 1 : 0;
        QCOMPARE(npy, 42);
        for (int v = 0; v < 42; ++v)
            for (const char *f : {"rgb_%1.png", "mask_%1.png", "xyz_%1.npy"})
                QVERIFY2(outputs.contains(QString(f).arg(v)), qPrintable(QString(f).arg(v)));
        QVERIFY(outputs.contains("cameras.json"));
        const QString base = QString("/api/v1/jobs/%1/outputs/").arg(job);
        const FarmFixture::Reply xyz = farm.get(base + "xyz_3.npy");
        QCOMPARE(xyz.status, 200);
        QVERIFY(xyz.body.startsWith("\x93NUMPY"));
        QVERIFY(xyz.body.contains("'descr': '<f2'"));
        QVERIFY(xyz.body.contains("'shape': (72, 96, 3)"));
        const QJsonObject cameras =
            QJsonDocument::fromJson(farm.get(base + "cameras.json").body).object();
        QCOMPARE(cameras.value("preset").toString(), QString("sam6d"));
        QCOMPARE(cameras.value("views").toArray().size(), 42);

        // Views other than the preset's 42 are refused at submission.
        const FarmFixture::Reply refused = farm.post(
            "/api/v1/jobs",
            QJsonDocument(
                QJsonObject{
                    {"name", "bad sam6d"},
                    {"type", "templates"},
                    {"input", QJsonObject{{"file", m_sha}, {"name", "2CylinderEngine.glb"}}},
                    {"settings", QJsonObject{{"preset", "sam6d"}, {"views", 10}}}})
                .toJson());
        QCOMPARE(refused.status, 400);
    }

    void modelNoiseTarget()
    {
        // A model job with a noise target stops its frame below spp once the estimate is met,
        // and the task log shows the estimates.
        FarmFixture &farm = *m_farm;
        const qint64 job = farm.submit(QJsonObject{
            {"name", "engine to a noise target"},
            {"type", "model"},
            {"input", QJsonObject{{"file", m_sha}, {"name", "2CylinderEngine.glb"}}},
            {"settings",
             QJsonObject{{"width", 64}, {"height", 48}, {"spp", 4096}, {"noise_target", 0.05}}}});
        QVERIFY(job > 0);
        const QJsonObject done = farm.waitForJob(job, 120000);
        QCOMPARE(done.value("state").toString(), QString("completed"));
        QCOMPARE(done.value("settings").toObject().value("noise_target").toDouble(), 0.05);
        const QJsonArray tasks =
            farm.get(QString("/api/v1/jobs/%1/tasks").arg(job)).json().value("tasks").toArray();
        QCOMPARE(tasks.size(), 1);
        const auto log = farm.get(
            QString("/api/v1/tasks/%1/log").arg(tasks.first().toObject().value("id").toInteger()));
        QCOMPARE(log.status, 200);
        QVERIFY2(log.body.contains("noise 1: rmse estimate "), log.body.constData());
        const QRegularExpression frameLine("frame 1: 64x48, (\\d+) spp");
        const QRegularExpressionMatch m = frameLine.match(QString::fromUtf8(log.body));
        QVERIFY2(m.hasMatch(), log.body.constData());
        QVERIFY(m.captured(1).toInt() < 4096);

        // Out of range: refused at submission.
        const FarmFixture::Reply refused = farm.post(
            "/api/v1/jobs",
            QJsonDocument(QJsonObject{{"name", "bad target"},
                                      {"type", "model"},
                                      {"input", QJsonObject{{"file", m_sha},
                                                            {"name", "2CylinderEngine.glb"}}},
                                      {"settings", QJsonObject{{"noise_target", 2}}}})
                .toJson());
        QCOMPARE(refused.status, 400);
    }

    void modelPasses()
    {
        FarmFixture &farm = *m_farm;
        const qint64 job = farm.submit(
            QJsonObject{{"name", "engine passes"},
                        {"type", "model"},
                        {"input", QJsonObject{{"file", m_sha}, {"name", "2CylinderEngine.glb"}}},
                        {"settings", QJsonObject{{"width", 160},
                                                 {"height", 120},
                                                 {"spp", 4},
                                                 {"passes", QJsonArray{"rgb", "depth", "mask"}}}}});
        QVERIFY(job > 0);
        const QJsonObject done = farm.waitForJob(job, 120000);
        QCOMPARE(done.value("state").toString(), QString("completed"));
        const QHash<QString, QJsonObject> outputs = outputsOf(farm, job);
        for (const char *f : {"frame_0001.png", "frame_0001_depth.png", "frame_0001_depth.exr",
                              "frame_0001_mask.png"}) {
            QVERIFY2(outputs.contains(f), f);
            QCOMPARE(outputs[f].value("frame").toInt(), 1);
        }
        const QString base = QString("/api/v1/jobs/%1/outputs/").arg(job);
        const FarmFixture::Reply exr = farm.get(base + "frame_0001_depth.exr");
        QCOMPARE(exr.status, 200);
        QCOMPARE(exr.contentType, QByteArray("application/octet-stream"));
        const QImage mask = QImage::fromData(farm.get(base + "frame_0001_mask.png").body);
        QCOMPARE(mask.size(), QSize(160, 120));
        const QImage depth = QImage::fromData(farm.get(base + "frame_0001_depth.png").body);
        QCOMPARE(depth.size(), QSize(160, 120));
    }
};

QTEST_GUILESS_MAIN(TestTemplatesEndToEnd)
#include "tst_templates_e2e.moc"
