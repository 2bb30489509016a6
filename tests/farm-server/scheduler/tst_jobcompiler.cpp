#include "fixtures.h"

#include "scheduler/jobcompiler.h"

using namespace farm;
using namespace farm::server;
using namespace farm::server::test;

class TestJobCompiler : public QObject
{
    Q_OBJECT
private slots:
    void chunks_data()
    {
        QTest::addColumn<QString>("frames");
        QTest::addColumn<int>("chunk");
        QTest::addColumn<QStringList>("tasks");
        QTest::newRow("single") << "1" << 1 << QStringList{"1"};
        QTest::newRow("even") << "1-4" << 2 << QStringList{"1-2", "3-4"};
        QTest::newRow("remainder") << "1-5" << 2 << QStringList{"1-2", "3-4", "5"};
        QTest::newRow("big chunk") << "1-5" << 100 << QStringList{"1-5"};
        QTest::newRow("stepped") << "1-9:2" << 2 << QStringList{"1,3", "5,7", "9"};
    }
    void chunks()
    {
        QFETCH(QString, frames);
        QFETCH(int, chunk);
        QFETCH(QStringList, tasks);
        const auto chunks = JobCompiler::compile(makeSpec(frames, chunk));
        QVERIFY(chunks.ok());
        QStringList got;
        for (const FrameRange &c : *chunks)
            got.append(c.toString());
        QCOMPARE(got, tasks);
    }

    void templatesAreOneTask()
    {
        JobSpec s = makeSpec("1", 1);
        s.type = "templates";
        s.settings.views = 42;
        const auto chunks = JobCompiler::compile(s);
        QVERIFY(chunks.ok());
        QCOMPARE(chunks->size(), 1);
        QCOMPARE(chunks->first().toString(), QString("1"));
        s.settings.views = 0; // a spec that skipped validation
        QVERIFY(!JobCompiler::compile(s).ok());
    }

    void rejectsUnknownType()
    {
        JobSpec s = makeSpec();
        s.type = "blender";
        QVERIFY(!JobCompiler::compile(s).ok());
    }

    void totalFramesArePreserved()
    {
        const auto chunks = JobCompiler::compile(makeSpec("0-99999", 7));
        QVERIFY(chunks.ok());
        qint64 total = 0;
        for (const FrameRange &c : *chunks) {
            QVERIFY(c.size() <= 7);
            total += c.size();
        }
        QCOMPARE(total, 100000);
        QCOMPARE(chunks->size(), 14286);
    }
};

QTEST_GUILESS_MAIN(TestJobCompiler)
#include "tst_jobcompiler.moc"
