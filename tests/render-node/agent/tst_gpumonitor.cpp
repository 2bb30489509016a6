// GpuMonitor reads NVML from a library loaded at run time; here a fake NVML with two GPUs, and
// a missing one (machines without the NVIDIA driver).
#include "agent/gpumonitor.h"

#include <QtTest>

using namespace farm;
using namespace farm::node;

class TestGpuMonitor : public QObject
{
    Q_OBJECT
private slots:
    void readsEveryGpu()
    {
        GpuMonitor monitor(FARM_FAKE_NVML);
        QVERIFY2(monitor.available(), qPrintable(monitor.problem()));
        const QList<GpuSample> gpus = monitor.sample();
        QCOMPARE(gpus.size(), 2);
        QCOMPARE(gpus[0].uuid, QString("GPU-fake-0000"));
        QCOMPARE(gpus[0].utilization, 0.87);
        QCOMPARE(gpus[0].memoryUsedMb, 20480);
        QCOMPARE(gpus[0].memoryTotalMb, 81920);
        QCOMPARE(gpus[1].uuid, QString("GPU-fake-0001"));
        QCOMPARE(gpus[1].utilization, 0.03);
        // What the node sends is what the server reads back.
        QJsonArray wire;
        for (const GpuSample &g : gpus)
            wire.append(g.toJson());
        const auto back = GpuSample::listFromJson(wire);
        QVERIFY(back);
        QCOMPARE(*back, gpus);
    }
    void noDriverNoSamples()
    {
        GpuMonitor monitor("/nonexistent/libnvidia-ml.so.1");
        QVERIFY(!monitor.available());
        QVERIFY(!monitor.problem().isEmpty());
        QVERIFY(monitor.sample().isEmpty());
    }
    void serverSideChecks()
    {
        QVERIFY(!GpuSample::listFromJson(QJsonObject{}));
        QVERIFY(!GpuSample::listFromJson(QJsonArray{QJsonObject{{"uuid", "GPU-x"},
                                                                {"utilization", 1.5},
                                                                {"memory_used_mb", 1},
                                                                {"memory_total_mb", 2}}}));
        QVERIFY(!GpuSample::listFromJson(QJsonArray{QJsonObject{{"uuid", "GPU-x"},
                                                                {"utilization", 0.5},
                                                                {"memory_used_mb", 3},
                                                                {"memory_total_mb", 2}}}));
        QVERIFY(!GpuSample::listFromJson(QJsonArray{QJsonObject{{"uuid", "GPU-x"},
                                                                {"utilization", 0.5},
                                                                {"memory_used_mb", 1},
                                                                {"memory_total_mb", 2},
                                                                {"colour", "red"}}}));
        QJsonArray many;
        for (int i = 0; i <= GpuSample::kMaxPerNode; ++i)
            many.append(QJsonObject{{"uuid", QString("GPU-%1").arg(i)},
                                    {"utilization", 0},
                                    {"memory_used_mb", 0},
                                    {"memory_total_mb", 0}});
        QVERIFY(!GpuSample::listFromJson(many));
        many.removeLast();
        QVERIFY(GpuSample::listFromJson(many));
    }
};

QTEST_MAIN(TestGpuMonitor)
#include "tst_gpumonitor.moc"
