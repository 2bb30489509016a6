// A compose job's scenario as the server (at submit) and the node read it: fields, defaults,
// the style a cue inherits, and the errors of bad scenarios (docs/JOBTYPES.md, "compose").
#include "model/scenario.h"

#include <QtTest>

using namespace farm;

class TstScenario : public QObject
{
    Q_OBJECT
private slots:
    void readsCuesAndStyles()
    {
        const auto s = Scenario::fromJson(
            "{\"version\": \"1.3\", "
            "            \"style\": {\"size\": 40, \"color\": \"#FFEE00\"}, "
            "            \"cues\": [{\"start\": 0, \"end\": 5, \"text\": \"Hello World\"}, "
            "                     {\"start\": 5, \"end\": 7.5, \"text\": \"안녕하세요\", "
            "                      \"style\": {\"align\": \"top\", \"box\": true, \"box_color\": "
            "\"#00000080\", "
            "                                \"fade_in\": 0.25, \"slide_out\": \"right\", "
            "                                \"position\": {\"x\": 0.5, \"y\": 0.2}}}]}");
        QVERIFY2(s.ok(), s.ok() ? "" : qPrintable(s.error().message));
        QCOMPARE(s->version, "1.3");
        QCOMPARE(s->cues.size(), 2);
        const Cue &a = s->cues[0], &b = s->cues[1];
        QCOMPARE(a.text, "Hello World");
        QCOMPARE(a.style.size, 40.0); // from the scenario's style
        QCOMPARE(a.style.color, (CueColor{255, 238, 0, 255}));
        QCOMPARE(a.style.font, kDefaultCueFont);
        QCOMPARE(a.style.align, "bottom");
        QCOMPARE(b.style.size, 40.0);
        QCOMPARE(b.style.align, "top");
        QVERIFY(b.style.box);
        QCOMPARE(b.style.boxColor, (CueColor{0, 0, 0, 128}));
        QCOMPARE(b.style.fadeIn, 0.25);
        QCOMPARE(b.style.slideOut, "right");
        QVERIFY(b.style.position);
        QCOMPARE(b.style.position->y(), 0.2);
        QCOMPARE(s->lastEnd(), 7.5);
    }

    void placesOverlapOnlyOnOneLine()
    {
        // Overlapping in time at different places is fine; touching on one line too.
        const auto s = Scenario::fromJson(R"({"version": "1.3", "cues": [
            {"start": 0, "end": 5, "text": "a"},
            {"start": 1, "end": 4, "text": "b", "style": {"align": "top"}},
            {"start": 5, "end": 6, "text": "c"},
            {"start": 2, "end": 3, "text": "d", "style": {"position": {"x": 0.5, "y": 0.5}}}]})");
        QVERIFY2(s.ok(), s.ok() ? "" : qPrintable(s.error().message));
    }

    void refusesBadScenarios_data()
    {
        QTest::addColumn<QByteArray>("json");
        QTest::addColumn<QString>("message");
        QTest::newRow("not json") << QByteArray("{\"version\": ") << "not a JSON object";
        QTest::newRow("no version") << QByteArray(R"({"cues": []})") << "scenario.version";
        QTest::newRow("version 2") << QByteArray(R"({"version": "2.0", "cues": []})")
                                   << "'2.0' is not one this farm reads";
        QTest::newRow("no cues list")
            << QByteArray(R"({"version": "1.3", "cues": {}})") << "scenario.cues must be a list";
        QTest::newRow("end before start")
            << QByteArray(R"({"version": "1.3", "cues": [{"start": 5, "end": 2, "text": "x"}]})")
            << "cues[0] ends (2 s) before it starts (5 s)";
        QTest::newRow("no end") << QByteArray(
                                       R"({"version": "1.3", "cues": [{"start": 5, "text": "x"}]})")
                                << "cues[0] needs start and end";
        QTest::newRow("no text") << QByteArray(
                                        R"({"version": "1.3", "cues": [{"start": 0, "end": 2}]})")
                                 << "cues[0].text is missing";
        QTest::newRow("overlap on one line")
            << QByteArray(R"({"version": "1.3", "cues": [{"start": 0, "end": 5, "text": "a"},
                             {"start": 4, "end": 8, "text": "b"}]})")
            << "cues[1] (4 s to 8 s) overlaps cues[0] (0 s to 5 s) on the same line (align "
               "bottom)";
        QTest::newRow("unknown style key")
            << QByteArray(
                   "{\"version\": \"1.3\", \"cues\": [{\"start\": 0, \"end\": 1, \"text\": \"a\", "
                   "                             \"style\": {\"colour\": \"#FFFFFF\"}}]}")
            << "cues[0].style.colour is not a style key";
        QTest::newRow("bad colour")
            << QByteArray(R"({"version": "1.3", "cues": [{"start": 0, "end": 1, "text": "a",
                             "style": {"color": "red"}}]})")
            << "cues[0].style.color must be a colour";
        QTest::newRow("bad align")
            << QByteArray(R"({"version": "1.3", "cues": [{"start": 0, "end": 1, "text": "a",
                             "style": {"align": "middle"}}]})")
            << "cues[0].style.align must be one of";
        QTest::newRow("size out of range")
            << QByteArray(R"({"version": "1.3", "style": {"size": 0}, "cues": []})")
            << "scenario.style.size must be between 1 and 1000";
        QTest::newRow("position outside")
            << QByteArray(R"({"version": "1.3", "cues": [{"start": 0, "end": 1, "text": "a",
                             "style": {"position": {"x": 1.5, "y": 0}}}]})")
            << "cues[0].style.position.x must be between 0 and 1";
        QTest::newRow("unknown cue key")
            << QByteArray(R"({"version": "1.3", "cues": [{"start": 0, "end": 1, "txt": "a"}]})")
            << "txt";
    }
    void refusesBadScenarios()
    {
        QFETCH(QByteArray, json);
        QFETCH(QString, message);
        const auto s = Scenario::fromJson(json);
        QVERIFY(!s.ok());
        QCOMPARE(s.error().code, "invalid_scenario");
        QVERIFY2(s.error().message.contains(message), qPrintable(s.error().message));
    }

    void questionCardIsMadeFromData()
    {
        const auto s = Scenario::fromJson(
            "{\"version\": \"1.3\", \"template\": \"question_card\", \"question\": "
            "\"Capital of Korea?\", \"answers\": [\"Busan\", \"Seoul\", \"Incheon\", "
            "\"Daegu\"], \"correct\": 1, \"countdown\": 3, \"reveal\": 2}");
        QVERIFY2(s.ok(), s.ok() ? "" : qPrintable(s.error().message));
        // The question, four answers, the right one highlighted, three countdown numbers.
        QCOMPARE(s->cues.size(), 1 + 4 + 1 + 3);
        QCOMPARE(s->cues[0].text, "Capital of Korea?");
        QCOMPARE(s->lastEnd(), 1.0 + 0.5 + 3 + 2);
        QStringList texts;
        for (const Cue &c : s->cues)
            texts.append(c.text);
        QCOMPARE(texts.count("B. Seoul"), 2); // plain until the reveal, then highlighted
        QVERIFY(texts.contains("A. Busan") && texts.contains("D. Daegu"));
        QVERIFY(texts.contains("3") && texts.contains("2") && texts.contains("1"));
        const Cue &plain = s->cues[texts.indexOf("B. Seoul")];
        const Cue &lit = s->cues[texts.lastIndexOf("B. Seoul")];
        QCOMPARE(plain.end, 4.5);
        QCOMPARE(lit.start, 4.5);
        QCOMPARE(lit.style.boxColor, (CueColor{0x2E, 0x7D, 0x32, 0xF0}));
        QCOMPARE(s->cues[texts.indexOf("1")].end, 4.5); // the countdown ends at the reveal

        const auto three = Scenario::fromJson(
            "{\"version\": \"1.3\", \"template\": \"question_card\", \"question\": "
            "\"q\", \"answers\": [\"a\", \"b\", \"c\"], \"correct\": 0}");
        QVERIFY(!three.ok());
        QVERIFY2(three.error().message.contains("4 answers, not 3"),
                 qPrintable(three.error().message));
        const auto other = Scenario::fromJson(
            "{\"version\": \"1.3\", \"template\": \"quiz\", \"question\": \"q\"}");
        QVERIFY(!other.ok());
        QVERIFY(other.error().message.contains("'quiz' is not one this farm has"));
        const auto stray = Scenario::fromJson("{\"version\": \"1.3\", \"question\": \"q\", "
                                              "\"cues\": []}");
        QVERIFY(!stray.ok()); // template keys without a template
    }

    void parsesColours()
    {
        QCOMPARE(*parseCueColor("#102030"), (CueColor{16, 32, 48, 255}));
        QCOMPARE(*parseCueColor("#10203040"), (CueColor{16, 32, 48, 64}));
        QVERIFY(!parseCueColor("#1020"));
        QVERIFY(!parseCueColor("102030"));
    }
};

QTEST_GUILESS_MAIN(TstScenario)
#include "tst_scenario.moc"
