// Question-card narration (render-node/video/narration.*): espeak-ng speaks the card's lines at
// the card's times; the composed MP4 has an AAC track that is loud where a line is spoken and
// silent elsewhere (RMS in 100 ms windows of the decoded track, read back with the ffmpeg
// command), as long as the video; over an input video with a tone, the narration is mixed in
// and the tone stays.
#include "testvideo.h"
#include "video/composer.h"

extern "C" {
#include <libavutil/log.h>
}

#include <QJsonArray>
#include <QJsonDocument>
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

#include <cmath>

using namespace farm;
using namespace farm::video;

namespace {

const char *kCard = R"({"version": "1.3", "template": "question_card",
  "question": "What is the capital of Korea?",
  "answers": ["Busan", "Seoul", "Incheon", "Daegu"], "correct": 1,
  "countdown": 5, "reveal": 3, "narration": true})";

/// The output's first audio stream as mono float samples at `rate` (the ffmpeg command).
std::vector<float> decodeAudio(const QString &path, int rate)
{
    QProcess p;
    p.start("ffmpeg", {"-v", "error", "-i", path, "-map", "0:a:0", "-f", "f32le", "-ac", "1", "-ar",
                       QString::number(rate), "-"});
    if (!p.waitForFinished(60000) || p.exitCode() != 0)
        qFatal("ffmpeg: %s", p.readAllStandardError().constData());
    const QByteArray bytes = p.readAllStandardOutput();
    std::vector<float> out(size_t(bytes.size()) / sizeof(float));
    memcpy(out.data(), bytes.constData(), out.size() * sizeof(float));
    return out;
}

QJsonObject probe(const QString &path)
{
    QProcess p;
    p.start("ffprobe", {"-v", "error", "-show_streams", "-show_format", "-of", "json", path});
    p.waitForFinished(30000);
    return QJsonDocument::fromJson(p.readAllStandardOutput()).object();
}

double rms(const std::vector<float> &s, double from, double to, int rate)
{
    const size_t a = size_t(std::max(0.0, from) * rate);
    const size_t b = std::min(s.size(), size_t(to * rate));
    if (b <= a)
        return 0;
    double sum = 0;
    for (size_t i = a; i < b; ++i)
        sum += double(s[i]) * s[i];
    return std::sqrt(sum / double(b - a));
}

} // namespace

class TestNarration : public QObject
{
    Q_OBJECT
    QTemporaryDir m_dir;

    static Result<ComposeResult> compose(const QByteArray &scenarioJson, const QString &input,
                                         const QString &output, QStringList *log)
    {
        ComposeJob job;
        auto scenario = Scenario::fromJson(scenarioJson);
        if (!scenario)
            return scenario.error();
        auto narration = scenarioNarration(QJsonDocument::fromJson(scenarioJson).object());
        if (!narration)
            return narration.error();
        job.scenario = *scenario;
        job.narration = *narration;
        job.input = input;
        job.output = output;
        auto settings = ComposeSettings::fromJson(
            {{"width", 320}, {"height", 180}, {"fps", 25}, {"preset", "ultrafast"}});
        if (!settings)
            return settings.error();
        job.settings = *settings;
        return composeVideo(
            job, [log](const QString &l) { log->append(l); }, [](qint64, qint64) {});
    }

private slots:
    void initTestCase()
    {
        av_log_set_level(AV_LOG_ERROR);
        QVERIFY(m_dir.isValid());
    }

    void theNarrationDefinesItsLines()
    {
        const auto n = scenarioNarration(QJsonDocument::fromJson(kCard).object());
        QVERIFY(n.ok());
        QCOMPARE(n->lines.size(), 3);
        QCOMPARE(n->lines[0].text, QString("What is the capital of Korea?"));
        QCOMPARE(n->lines[1].start, 1.0); // when the answers appear
        QCOMPARE(n->lines[1].text, QString("A: Busan. B: Seoul. C: Incheon. D: Daegu."));
        QCOMPARE(n->lines[2].start, 6.5); // the reveal: 1 s + 0.5 s + the countdown
        QCOMPARE(n->lines[2].text, QString("B: Seoul."));
        // Off by default, and a malformed one is refused by the scenario's own check.
        QVERIFY(!scenarioNarration(QJsonObject{{"template", "question_card"}})->enabled());
        QJsonObject bad = QJsonDocument::fromJson(kCard).object();
        bad.insert("narration", QJsonObject{{"voice", "en"}, {"rate", 1000}});
        const auto refused = Scenario::fromJson(QJsonDocument(bad).toJson());
        QVERIFY(!refused.ok());
        QVERIFY2(refused.error().message.contains("narration.rate"),
                 qPrintable(refused.error().message));
    }

    void spokenWhereTheCardSaysSilentElsewhere()
    {
        const QString out = m_dir.filePath("card.mp4");
        QStringList log;
        const auto r = compose(kCard, QString(), out, &log);
        QVERIFY2(r.ok(), r.ok() ? "" : qPrintable(r.error().message));
        QCOMPARE(r->narration.size(), 3);
        QVERIFY2(log.join('\n').contains("narration (espeak-ng, voice en"),
                 qPrintable(log.join('\n')));
        // Each line starts at its time or after the one before it.
        QCOMPARE(r->narration[0].start, 0.0);
        QVERIFY(r->narration[1].start >= 1.0 && r->narration[1].start >= r->narration[0].end);
        QVERIFY(r->narration[2].start >= 6.5 && r->narration[2].start >= r->narration[1].end);
        QVERIFY(r->narration[2].end < 9.5); // the card lasts 1 + 0.5 + 5 + 3 s

        const QJsonObject facts = probe(out);
        QJsonObject audio;
        for (const QJsonValue s : facts.value("streams").toArray())
            if (s.toObject().value("codec_type") == "audio")
                audio = s.toObject();
        QCOMPARE(audio.value("codec_name").toString(), QString("aac"));
        const double duration =
            facts.value("format").toObject().value("duration").toString().toDouble();
        QVERIFY2(std::abs(duration - 9.5) < 0.1, qPrintable(QString::number(duration)));
        const double audioSeconds = audio.value("duration").toString().toDouble();
        QVERIFY2(std::abs(audioSeconds - 9.5) < 0.1, qPrintable(QString::number(audioSeconds)));

        const int rate = 16000;
        const std::vector<float> s = decodeAudio(out, rate);
        QVERIFY(std::abs(double(s.size()) / rate - 9.5) < 0.1);
        for (const NarrationSpan &span : r->narration) {
            const double level = rms(s, span.start, span.end, rate);
            QVERIFY2(level > 0.02, qPrintable(QString("'%1' %2-%3 s: RMS %4")
                                                  .arg(span.text)
                                                  .arg(span.start)
                                                  .arg(span.end)
                                                  .arg(level)));
        }
        // Outside the spoken lines (50 ms kept clear of each line's edges: AAC's frames
        // smear an edge) every 100 ms window is silent.
        int silentWindows = 0;
        for (double t = 0; t + 0.1 <= 9.5; t += 0.1) {
            bool near = false;
            for (const NarrationSpan &span : r->narration)
                near = near || (t + 0.1 > span.start - 0.05 && t < span.end + 0.05);
            if (near)
                continue;
            const double level = rms(s, t, t + 0.1, rate);
            QVERIFY2(level < 0.001, qPrintable(QString("%1 s: RMS %2").arg(t).arg(level)));
            ++silentWindows;
        }
        QVERIFY2(silentWindows >= 10, qPrintable(QString::number(silentWindows))); // the countdown
    }

    void mixedOverTheInputsAudio()
    {
        // A 10 s video with a 440 Hz tone: the tone stays under the narration.
        const QString source = m_dir.filePath("tone.mp4");
        const QString made = testvideo::make(source, 10.0, 320, 180, 25);
        QVERIFY2(made.isEmpty(), qPrintable(made));
        const QString out = m_dir.filePath("card-over-tone.mp4");
        QStringList log;
        const auto r = compose(kCard, source, out, &log);
        QVERIFY2(r.ok(), r.ok() ? "" : qPrintable(r.error().message));
        QVERIFY(!r->audioCopied);
        QVERIFY2(log.join('\n').contains("narration mixed over tone.mp4's audio"),
                 qPrintable(log.join('\n')));
        const int rate = 16000;
        const std::vector<float> mixed = decodeAudio(out, rate);
        const std::vector<float> tone = decodeAudio(source, rate);
        QVERIFY(std::abs(double(mixed.size()) / rate - 10.0) < 0.15);
        // After the last line the output is the tone (same level); within a line, louder.
        const NarrationSpan &q = r->narration[0];
        const double gapFrom = r->narration[2].end + 0.1, gapTo = 9.9;
        QVERIFY2(gapTo - gapFrom > 0.5, qPrintable(log.join('\n')));
        const double toneLevel = rms(tone, gapFrom, gapTo, rate);
        QVERIFY(toneLevel > 0.01);
        QVERIFY(std::abs(rms(mixed, gapFrom, gapTo, rate) - toneLevel) < 0.2 * toneLevel);
        // What was added to the tone: the speech inside a line, only coding noise after them.
        std::vector<float> added(std::min(mixed.size(), tone.size()));
        for (size_t i = 0; i < added.size(); ++i)
            added[i] = mixed[i] - tone[i];
        const double speech = rms(added, q.start, q.end, rate);
        const double noise = rms(added, gapFrom, gapTo, rate);
        QVERIFY2(speech > 0.02 && speech > 4 * noise,
                 qPrintable(QString("speech %1, noise %2").arg(speech).arg(noise)));
    }
};

QTEST_MAIN(TestNarration)
#include "tst_narration.moc"
