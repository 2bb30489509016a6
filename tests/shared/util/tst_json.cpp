#include "util/json.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QtTest>

using namespace farm;

// json::parseObject, where every REST body enters: strings that cannot become UTF-8 are refused
// with the place they sit at.
class TestJson : public QObject
{
    Q_OBJECT
private slots:
    void refusesUnpairedSurrogates_data()
    {
        QTest::addColumn<QByteArray>("body");
        QTest::addColumn<QString>("message");
        QTest::newRow("value") << QByteArray(R"({"name": "a\ud800b"})")
                               << "name contains an unpaired UTF-16 surrogate (\\ud800)";
        QTest::newRow("lone low") << QByteArray(R"({"name": "\uDC01"})")
                                  << "name contains an unpaired UTF-16 surrogate (\\udc01)";
        QTest::newRow("high at the end") << QByteArray(R"({"name": "ok \ud83d"})")
                                         << "name contains an unpaired UTF-16 surrogate (\\ud83d)";
        QTest::newRow("high then no low") << QByteArray(R"({"name": "\ud83d\u0041"})")
                                          << "name contains an unpaired UTF-16 surrogate (\\ud83d)";
        QTest::newRow("nested")
            << QByteArray(R"({"settings": {"width": 4, "camera": {"mode": "x\udfffy"}}})")
            << "settings.camera.mode contains an unpaired UTF-16 surrogate (\\udfff)";
        QTest::newRow("in a list")
            << QByteArray(R"({"requirements": {"tags": ["lab", "\ud800"]}})")
            << "requirements.tags[1] contains an unpaired UTF-16 surrogate (\\ud800)";
        QTest::newRow("object in a list")
            << QByteArray(R"({"input": {"files": [{"path": "a"}, {"path": "b\ud900"}]}})")
            << "input.files[1].path contains an unpaired UTF-16 surrogate (\\ud900)";
        QTest::newRow("key")
            << QByteArray(R"({"a\ud800": 1})")
            << "field name \"a\\ud800\" contains an unpaired UTF-16 surrogate (\\ud800)";
        QTest::newRow("nested key")
            << QByteArray(R"({"settings": {"camera": {"\udc00": "still"}}})")
            << "field name \"\\udc00\" in settings.camera contains an unpaired UTF-16 "
               "surrogate (\\udc00)";
        const QByteArray longKey(100, 'k');
        QTest::newRow("under a long key")
            << QByteArray(R"({")" + longKey + R"(": ["\ud800"]})")
            << QString(64, 'k') + "...[0] contains an unpaired UTF-16 surrogate (\\ud800)";
        QByteArray deep = R"(["\udc00"])";
        for (int i = 0; i < 60; ++i)
            deep = R"({"level": )" + deep + "}";
        const QString fullPath = "top" + QString(".level").repeated(60) + "[0]";
        QTest::newRow("deep path, cut at its start")
            << R"({"top": )" + deep + "}"
            << "..." + fullPath.right(300) + " contains an unpaired UTF-16 surrogate (\\udc00)";
    }
    void refusesUnpairedSurrogates()
    {
        QFETCH(QByteArray, body);
        QFETCH(QString, message);
        const auto parsed = json::parseObject(body);
        QVERIFY(!parsed.ok());
        QCOMPARE(parsed.error().code, QString("invalid_json"));
        QCOMPARE(parsed.error().message, message);
        // The message itself is plain UTF-8 again.
        QCOMPARE(QString::fromUtf8(parsed.error().message.toUtf8()), message);
    }

    void keepsValidText_data()
    {
        QTest::addColumn<QByteArray>("body");
        QTest::addColumn<QString>("name");
        QTest::newRow("pair escaped") << QByteArray(R"({"name": "\ud83d\ude00 ok"})")
                                      << QString::fromUtf8("\xF0\x9F\x98\x80 ok");
        QTest::newRow("pair as UTF-8") << QByteArray("{\"name\": \"\xF0\x9F\x98\x80\"}")
                                       << QString::fromUtf8("\xF0\x9F\x98\x80");
        QTest::newRow("escaped backslash, then ud800")
            << QByteArray(R"({"name": "\\ud800"})") << QString("\\ud800");
        QTest::newRow("BMP escape") << QByteArray(R"({"name": "\u00e9\uD7FF\uE000"})")
                                    << QString(QChar(0xe9)) + QChar(0xd7ff) + QChar(0xe000);
    }
    void keepsValidText()
    {
        QFETCH(QByteArray, body);
        QFETCH(QString, name);
        const auto parsed = json::parseObject(body);
        QVERIFY2(parsed.ok(), qPrintable(parsed.ok() ? QString() : parsed.error().message));
        QCOMPARE(parsed->value("name").toString(), name);
    }

    void rawSurrogateBytesAreInvalidJson()
    {
        // CESU-8 / WTF-8 surrogates never reach the walk: the parser itself refuses them.
        const auto parsed = json::parseObject("{\"name\": \"a\xED\xA0\x80\"}");
        QVERIFY(!parsed.ok());
        QCOMPARE(parsed.error().code, QString("invalid_json"));
    }

    void findWalksWithoutSourceText()
    {
        QJsonObject o{{"list", QJsonArray{QJsonObject{{"x", QString(QChar(0xdbff))}}}}};
        QCOMPARE(json::findUnpairedSurrogate(o),
                 QString("list[0].x contains an unpaired UTF-16 surrogate (\\udbff)"));
        QVERIFY(json::checkStrings(o, R"({"x": "\udbff"})").ok() == false);
        // Text without a surrogate escape is trusted to hold none (not walked).
        QVERIFY(json::checkStrings(o, R"({"x": "plain"})").ok());
        QVERIFY(json::findUnpairedSurrogate(QJsonObject{{"a", "\xF0\x9F\x98\x80"}}).isEmpty());
    }
};

QTEST_GUILESS_MAIN(TestJson)
#include "tst_json.moc"
