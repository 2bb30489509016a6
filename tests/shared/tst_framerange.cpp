#include "util/framerange.h"

#include <QtTest>

using farm::FrameRange;

class TestFrameRange : public QObject
{
    Q_OBJECT
private slots:
    void parse_data()
    {
        QTest::addColumn<QString>("text");
        QTest::addColumn<QList<int>>("frames");
        QTest::addColumn<QString>("canonical");
        QTest::newRow("single") << "7" << QList<int>{7} << "7";
        QTest::newRow("range") << "1-4" << QList<int>{1, 2, 3, 4} << "1-4";
        QTest::newRow("step") << "1-9:4" << QList<int>{1, 5, 9} << "1-9:4";
        QTest::newRow("mixed") << "1-3, 20-26:3" << QList<int>{1, 2, 3, 20, 23, 26}
                               << "1-3,20-26:3";
        QTest::newRow("dedupe") << "3,1-3,2" << QList<int>{1, 2, 3} << "1-3";
        QTest::newRow("zero") << "0" << QList<int>{0} << "0";
        QTest::newRow("pair") << "1,5" << QList<int>{1, 5} << "1,5";
    }
    void parse()
    {
        QFETCH(QString, text);
        QFETCH(QList<int>, frames);
        QFETCH(QString, canonical);
        const auto r = FrameRange::parse(text);
        QVERIFY2(r.ok(), qPrintable(r.ok() ? QString() : r.error().message));
        QCOMPARE(r->frames(), frames);
        QCOMPARE(r->toString(), canonical);
        QCOMPARE(FrameRange::parse(r->toString())->frames(), frames);
    }

    void rejects_data()
    {
        QTest::addColumn<QString>("text");
        QTest::newRow("empty") << "";
        QTest::newRow("backwards") << "10-1";
        QTest::newRow("zero step") << "1-10:0";
        QTest::newRow("negative") << "-3";
        QTest::newRow("letters") << "a-b";
        QTest::newRow("trailing comma") << "1,";
        QTest::newRow("too many") << "1-200000";
        QTest::newRow("huge") << "99999999999";
    }
    void rejects()
    {
        QFETCH(QString, text);
        const auto r = FrameRange::parse(text);
        QVERIFY(!r.ok());
        QCOMPARE(r.error().code, QString("invalid_field"));
        QVERIFY(r.error().message.startsWith("frames:"));
    }

    void chunks()
    {
        const auto r = FrameRange::parse("1-10");
        const auto c = r->chunks(4);
        QCOMPARE(c.size(), 3);
        QCOMPARE(c[0].toString(), QString("1-4"));
        QCOMPARE(c[2].toString(), QString("9-10"));
        QList<int> all;
        for (const auto &part : c)
            all += part.frames();
        QCOMPARE(all, r->frames());
    }
};

QTEST_APPLESS_MAIN(TestFrameRange)
#include "tst_framerange.moc"
