// GPU and CPU slots, and live previews, of the agent against a fake server on loopback, with
// shell scripts standing in for the renderer child (they echo what they were given).
#include "agent/agent.h"
#include "agent/rendertask.h"
#include "agenttestutil.h"
#include "fakeserver.h"

#include <QBuffer>
#include <QElapsedTimer>
#include <QImage>
#include <QJsonArray>
#include <QTemporaryDir>
#include <QtTest>

#include <memory>

using namespace farm;
using namespace farm::node;
using namespace agenttest;

namespace {

// Prints its environment's CUDA_VISIBLE_DEVICES and arguments, then waits for "go".
const char kEchoScript[] = R"(echo "ENV CUDA_VISIBLE_DEVICES=${CUDA_VISIBLE_DEVICES-unset}"
echo "ARGS $*"
touch "@DIR@/started-$$"
while [ ! -e "@DIR@/go" ]; do sleep 0.05; done
pattern="$4"
frames="$6"
out=$(printf '%s' "$pattern" | sed "s/####/$(printf %04d "$frames")/")
printf 'png' > "$out"
echo "FRAME $frames $out"
)";

// Writes previews as the renderer would: the file replaced, then a PREVIEW line.
const char kPreviewScript[] = R"(preview=""
prev=""
for a in "$@"; do
  [ "$prev" = "--preview" ] && preview="$a"
  prev="$a"
done
pattern="$4"
out=$(printf '%s' "$pattern" | sed "s/####/0001/")
for s in 1 2 4; do
  cp "@DIR@/partial-$s.jpg" "$preview.tmp" && mv "$preview.tmp" "$preview"
  echo "PREVIEW 1 $s $preview"
  sleep 0.5
done
sleep 1.5
cp "@DIR@/partial-8.jpg" "$preview"
echo "PREVIEW 1 8 $preview"
printf 'png' > "$out"
echo "FRAME 1 $out"
echo "PREVIEW 1 9 $preview"
echo "PREVIEW 1 x"
sleep 1
)";

QByteArray jpeg(int shade)
{
    QImage image(40, 30, QImage::Format_RGB32);
    image.fill(QColor(shade, shade, shade));
    QByteArray bytes;
    QBuffer buffer(&bytes);
    buffer.open(QIODevice::WriteOnly);
    image.save(&buffer, "JPG");
    return bytes;
}

} // namespace

class TestAgentSlots : public QObject
{
    Q_OBJECT

    std::unique_ptr<QTemporaryDir> m_dir;
    std::unique_ptr<FakeServer> m_server;
    std::unique_ptr<Agent> m_agent;

    QString cacheDir() const { return m_dir->filePath("cache"); }

    bool startAgent(NodeConfig config)
    {
        m_agent = std::make_unique<Agent>(config);
        m_agent->start();
        if (!QTest::qWaitFor([&] { return m_server->count("hello") == 1; }, 10000))
            return false;
        m_server->send("welcome",
                       {{"protocol", 1}, {"node_id", 7}, {"heartbeat_s", 5}, {"lease_s", 20}});
        return QTest::qWaitFor([&] { return m_agent->nodeId() == 7; }, 5000);
    }

    QString taskLog(qint64 task) const
    {
        QString text;
        for (const Envelope &e : m_server->messagesForTask("task.log", task))
            text += e.data.value("text").toString();
        return text;
    }

private slots:
    void init()
    {
        m_dir = std::make_unique<QTemporaryDir>();
        QVERIFY(m_dir->isValid());
        m_server = std::make_unique<FakeServer>();
        QVERIFY(m_server->isListening());
    }

    void cleanup()
    {
        m_agent.reset();
        m_server.reset();
        m_dir.reset();
    }

    void applyGpusSettlesSlots()
    {
        const QList<GpuInfo> detected{{"RTX A", "GPU-aaaa", 8192, "8.6", "CUDA 12.4"},
                                      {"RTX B", "GPU-bbbb", 8192, "8.6", "CUDA 12.4"}};
        NodeConfig c;
        QVERIFY(applyGpus(c, detected).ok()); // auto: every GPU, no CPU slot by default
        QCOMPARE(c.gpuDevices, (QStringList{"GPU-aaaa", "GPU-bbbb"}));
        QCOMPARE(c.totalSlots(), 2);
        QCOMPARE(c.slotCount, 0);

        c = NodeConfig();
        c.gpuSelection = "1";
        c.slotCount = 2;
        c.slotsGiven = true;
        QVERIFY(applyGpus(c, detected).ok()); // by index, plus two CPU slots
        QCOMPARE(c.gpus.size(), 1);
        QCOMPARE(c.gpus[0].name, QString("RTX B"));
        QCOMPARE(c.gpuDevices, QStringList{"GPU-bbbb"});
        QCOMPARE(c.totalSlots(), 3);

        c = NodeConfig();
        c.gpuSelection = "none";
        QVERIFY(applyGpus(c, detected).ok()); // hidden GPUs: one CPU slot
        QVERIFY(c.gpus.isEmpty());
        QCOMPARE(c.totalSlots(), 1);

        c = NodeConfig();
        c.gpuSelection = "GPU-cccc,3";
        QStringList warnings;
        QVERIFY(applyGpus(c, {}, &warnings).ok()); // declared without being detected
        QCOMPARE(c.gpuDevices, (QStringList{"GPU-cccc", "3"}));
        QCOMPARE(c.gpus[0].uuid, QString("GPU-cccc"));
        QCOMPARE(warnings.size(), 2);

        c = NodeConfig();
        c.gpuSelection = "none";
        c.slotCount = 0;
        c.slotsGiven = true;
        QVERIFY(!applyGpus(c, detected).ok()); // no slot at all
        c.gpuSelection = "0,GPU-aaaa";         // the same device twice
        QVERIFY(!applyGpus(c, detected).ok());
        c.gpuSelection = "0;rm -rf";
        QVERIFY(!applyGpus(c, detected).ok());
    }

    void gpuSlotsRunChildrenOnTheirDevices()
    {
        NodeConfig config =
            makeConfig(m_server->url(), cacheDir(),
                       writeScript(m_dir->path(), "echo.sh",
                                   QString(kEchoScript).replace("@DIR@", m_dir->path())));
        config.gpuSelection = "0,GPU-1234abcd";
        config.slotCount = 1;
        config.slotsGiven = true;
        QVERIFY(applyGpus(config, {}).ok());
        QVERIFY(startAgent(config));
        const QJsonObject hello = m_server->messages("hello").first().data;
        QCOMPARE(hello.value("slots").toInt(), 3);
        QCOMPARE(hello.value("gpus").toArray().size(), 2);

        const QString sha = m_server->addFile("model bytes");
        for (qint64 t : {11, 12, 13})
            m_server->send("task.assign",
                           assignMessage(t, sha, "a.glb", QString::number(t - 10), "1-4", "still"));
        QTRY_COMPARE_WITH_TIMEOUT(QDir(m_dir->path()).entryList({"started-*"}).size(), 3, 10000);
        m_server->send("task.assign", assignMessage(14, sha, "a.glb", "4", "1-4", "still"));
        QTRY_COMPARE(m_server->messagesForTask("task.failed", 14).size(), 1);

        QFile go(m_dir->filePath("go"));
        QVERIFY(go.open(QIODevice::WriteOnly));
        go.close();
        QTRY_COMPARE_WITH_TIMEOUT(m_server->count("task.done"), 3, 20000);

        // GPU slots first, in order: the device in the child's environment and --device cuda.
        const QString inherited = qEnvironmentVariable("CUDA_VISIBLE_DEVICES", "unset");
        const QList<std::tuple<qint64, QString, QString>> expected{
            {11, "0", "cuda"}, {12, "GPU-1234abcd", "cuda"}, {13, inherited, "cpu"}};
        for (const auto &[task, device, kind] : expected) {
            QTRY_VERIFY(taskLog(task).contains("ARGS "));
            const QString log = taskLog(task);
            QVERIFY2(log.contains(QString("ENV CUDA_VISIBLE_DEVICES=%1\n").arg(device)),
                     qPrintable(log));
            QVERIFY2(log.contains(QString("--device %1 ").arg(kind)), qPrintable(log));
            QVERIFY2(log.contains(kind == "cuda" ? "(GPU)" : "(CPU)"), qPrintable(log));
            if (kind == "cuda")
                QVERIFY2(log.contains(QString("running CUDA_VISIBLE_DEVICES=%1 ").arg(device)),
                         qPrintable(log));
        }
    }

    void forwardsNewestPreviewAtMostEveryInterval()
    {
        const QMap<int, QByteArray> partials{
            {1, jpeg(10)}, {2, jpeg(20)}, {4, jpeg(40)}, {8, jpeg(80)}};
        for (auto it = partials.begin(); it != partials.end(); ++it) {
            QFile f(m_dir->filePath(QString("partial-%1.jpg").arg(it.key())));
            QVERIFY(f.open(QIODevice::WriteOnly));
            f.write(it.value());
        }
        NodeConfig config =
            makeConfig(m_server->url(), cacheDir(),
                       writeScript(m_dir->path(), "preview.sh",
                                   QString(kPreviewScript).replace("@DIR@", m_dir->path())));
        QVERIFY(startAgent(config));
        const QString sha = m_server->addFile("model bytes");
        QJsonObject assign = assignMessage(21, sha, "a.glb", "1", "1", "still");
        QJsonObject settings = assign.value("settings").toObject();
        settings.insert("spp", 16);
        assign.insert("settings", settings);
        m_server->send("task.assign", assign);

        QTRY_COMPARE_WITH_TIMEOUT(m_server->messagesForTask("task.partial", 21).size(), 1, 10000);
        QElapsedTimer sinceFirst;
        sinceFirst.start();
        QTRY_COMPARE_WITH_TIMEOUT(m_server->messagesForTask("task.partial", 21).size(), 2, 5000);
        const qint64 gap = sinceFirst.elapsed();
        QTRY_COMPARE_WITH_TIMEOUT(m_server->messagesForTask("task.done", 21).size(), 1, 10000);
        QTest::qWait(2500); // past the next rate-limit slot: nothing more may come

        // The first at once; of the two that came too soon, only the newest, an interval later;
        // the one waiting when its frame finished, and those after, never.
        const auto sent = m_server->messagesForTask("task.partial", 21);
        QCOMPARE(sent.size(), 2);
        QVERIFY2(gap >= RenderTask::kPreviewIntervalMs - 300, qPrintable(QString::number(gap)));
        const QList<int> samples{1, 4};
        for (int i = 0; i < 2; ++i) {
            const QJsonObject d = sent[i].data;
            QCOMPARE(d.value("frame").toInt(), 1);
            QCOMPARE(d.value("samples").toInt(), samples[i]);
            QCOMPARE(d.value("spp").toInt(), 16);
            QCOMPARE(QByteArray::fromBase64(d.value("jpeg").toString().toLatin1()),
                     partials[samples[i]]);
        }
        const QString log = [&] {
            QString text;
            for (const Envelope &e : m_server->messagesForTask("task.log", 21))
                text += e.data.value("text").toString();
            return text;
        }();
        QVERIFY2(log.contains("--device cpu --preview " + QDir(cacheDir()).path()),
                 qPrintable(log));
        QVERIFY2(log.contains("--preview-interval 1.5"), qPrintable(log));
        QVERIFY2(log.contains("ignoring an unusable preview line: 'PREVIEW 1 x'"), qPrintable(log));
        QVERIFY(!log.contains("PREVIEW 1 4")); // protocol lines are not log
        // The preview file is never uploaded as an output.
        QCOMPARE(m_server->uploads.size(), 1);
    }
};

QTEST_GUILESS_MAIN(TestAgentSlots)
#include "tst_agentslots.moc"
