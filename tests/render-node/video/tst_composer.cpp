// The compose engine's library (render-node/video: scenario → ASS → libass over decoded frames
// → encoder, audio copied): a 10 s video made here with a sine tone and three cues; each cue's
// text is in the frames inside its time and nowhere else, the audio packets are the source's,
// Korean renders as glyphs (not boxes), a background without input, and the errors of bad input.
#include "testvideo.h"
#include "video/assscript.h"
#include "video/composer.h"
#include "video/subtitlerenderer.h"
#include "video/videodecoder.h"

extern "C" {
#include <ass/ass.h>
#include <libavutil/log.h>
}

#include <QFile>
#include <QTemporaryDir>
#include <QtTest>

using namespace farm;
using namespace farm::video;

namespace {

const char *kThreeCues =
    "{\"version\": \"1.3\", \"cues\": [ "
    "    {\"start\": 1, \"end\": 4, \"text\": \"Hello World\", "
    "     \"style\": {\"align\": \"top\", \"fade_in\": 0.2, \"fade_out\": 0.2}}, "
    "    {\"start\": 3.5, \"end\": 7, \"text\": \"Second cue, in a box\", "
    "     \"style\": {\"align\": \"bottom\", \"box\": true, \"slide_in\": \"left\", "
    "\"slide_duration\": 0.3}}, "
    "    {\"start\": 7.5, \"end\": 9.5, \"text\": \"한국어 자막 테스트\", "
    "     \"style\": {\"align\": \"center\", \"size\": 56, \"color\": \"#FFEE00\"}}]}";

struct Band
{
    double from, to; // share of the height
    double start, end;
};
// Where each of kThreeCues's cues draws (top, bottom, centre bands), and when.
const Band kBands[] = {{0.0, 0.25, 1, 4}, {0.75, 1.0, 3.5, 7}, {0.35, 0.65, 7.5, 9.5}};

std::vector<FramePtr> decodeAll(const QString &path, MediaInfo *info = nullptr)
{
    std::vector<FramePtr> frames;
    auto d = VideoDecoder::open(path);
    if (!d)
        qFatal("%s", qPrintable(d.error().message));
    if (info)
        *info = (*d)->info();
    for (;;) {
        auto f = (*d)->next();
        if (!f)
            qFatal("%s", qPrintable(f.error().message));
        if (!*f)
            break;
        frames.emplace_back(av_frame_clone(*f));
    }
    return frames;
}

Scenario scenario(const char *json)
{
    auto s = Scenario::fromJson(json);
    if (!s)
        qFatal("%s", qPrintable(s.error().message));
    return *s;
}

// What libass draws for `text` alone, as one alpha mask of its bounding box (row-major, with
// its size in front), and the warnings it gave.
QByteArray mask(const QString &text, QStringList *warnings)
{
    Scenario s = scenario(R"({"version": "1.3", "cues": [{"start": 0, "end": 1, "text": "x",
                             "style": {"align": "center", "size": 64, "outline": 0}}]})");
    s.cues[0].text = text;
    auto r = SubtitleRenderer::create(scenarioToAss(s, 640, 360), 640, 360, kDefaultCueFont);
    if (!r)
        qFatal("%s", qPrintable(r.error().message));
    QImage canvas(640, 360, QImage::Format_Grayscale8);
    canvas.fill(0);
    int x0 = 640, y0 = 360, x1 = 0, y1 = 0;
    for (const ASS_Image *i = (*r)->render(500); i; i = i->next)
        for (int y = 0; y < i->h; ++y)
            for (int x = 0; x < i->w; ++x)
                if (const uint8_t v = i->bitmap[y * i->stride + x]) {
                    uchar *p = canvas.scanLine(i->dst_y + y) + i->dst_x + x;
                    *p = std::max(*p, v);
                    x0 = std::min(x0, i->dst_x + x);
                    y0 = std::min(y0, i->dst_y + y);
                    x1 = std::max(x1, i->dst_x + x + 1);
                    y1 = std::max(y1, i->dst_y + y + 1);
                }
    *warnings = (*r)->takeWarnings();
    if (x1 <= x0)
        return {};
    QByteArray out = QByteArray::number(x1 - x0) + 'x' + QByteArray::number(y1 - y0) + ':';
    for (int y = y0; y < y1; ++y)
        out.append(reinterpret_cast<const char *>(canvas.constScanLine(y)) + x0, x1 - x0);
    return out;
}

} // namespace

class TstComposer : public QObject
{
    Q_OBJECT
private:
    QTemporaryDir m_dir;
    QString m_source;

    Result<ComposeResult> run(const Scenario &s, const QString &input, const QString &output,
                              QJsonObject settings = {}, QStringList *log = nullptr)
    {
        ComposeJob job;
        job.scenario = s;
        job.input = input;
        job.output = output;
        settings.insert("preset", "ultrafast");
        auto cs = ComposeSettings::fromJson(settings);
        if (!cs)
            return cs.error();
        job.settings = *cs;
        QStringList lines;
        auto r = composeVideo(
            job, [&](const QString &l) { lines.append(l); }, [](qint64, qint64) {});
        if (log)
            *log = lines;
        return r;
    }

private slots:
    void initTestCase()
    {
        av_log_set_level(AV_LOG_QUIET);
        QVERIFY(m_dir.isValid());
        m_source = m_dir.filePath("source.mp4");
        const QString e = testvideo::make(m_source, 10.0, 640, 360, 30);
        QVERIFY2(e.isEmpty(), qPrintable(e));
    }

    void assScript()
    {
        const Scenario s = scenario(kThreeCues);
        const QString ass = scenarioToAss(s, 640, 360);
        QVERIFY(ass.contains("PlayResX: 640\nPlayResY: 360"));
        // The top cue fades over its whole time: \fade timed on the cue, from its start.
        QVERIFY2(ass.contains("Dialogue: 0,0:00:01.00,0:00:04.00,C0,,0,0,0,,{\\an8\\pos(320.0,"
                              "18.0)\\fade(255,0,255,0,200,2800,3000)}Hello World"),
                 qPrintable(ass));
        // The boxed cue slides in from the left (\move), then stays (\pos); its style is a box
        // (BorderStyle 3).
        QVERIFY(ass.contains("0:00:03.50,0:00:03.80,C1,,0,0,0,,{\\an2\\move(256.0,342.0,320.0,"
                             "342.0)}Second cue, in a box"));
        QVERIFY(ass.contains("0:00:03.80,0:00:07.00,C1,,0,0,0,,{\\an2\\pos(320.0,342.0)}"));
        QVERIFY(ass.contains(QRegularExpression("Style: C1,Noto Sans CJK KR,48.0,[^\\n]*,3,8.0,")));
        QVERIFY(ass.contains("&H0000EEFF")); // #FFEE00, opaque
        // Text that looks like ASS codes stays text.
        QCOMPARE(assText("a{b}\\N\nc"), QString("a\\{b\\}\\") + QChar(0x2060) + "N\\Nc");
    }

    void cuesShowInTheirTimeOnly()
    {
        const QString out = m_dir.filePath("three.mp4");
        QStringList log;
        const auto r = run(scenario(kThreeCues), m_source, out, {}, &log);
        QVERIFY2(r.ok(), r.ok() ? "" : qPrintable(r.error().message));
        QCOMPARE(r->frames, 300);
        QCOMPARE(r->size, QSize(640, 360));
        QVERIFY(r->audioCopied);
        QVERIFY2(log.join('\n').contains("encoder libx264"), qPrintable(log.join('\n')));

        MediaInfo info;
        const std::vector<FramePtr> source = decodeAll(m_source);
        const std::vector<FramePtr> composed = decodeAll(out, &info);
        QCOMPARE(composed.size(), 300);
        QCOMPARE(source.size(), 300);
        QCOMPARE(info.width, 640);
        QCOMPARE(info.frameRate.num / info.frameRate.den, 30);
        QVERIFY(std::abs(info.durationSeconds - 10.0) < 0.05);
        for (int n = 0; n < 300; ++n) {
            const double t = n / 30.0;
            for (int c = 0; c < 3; ++c) {
                const Band &b = kBands[c];
                const int changed =
                    testvideo::changedPixels(source[n].get(), composed[n].get(), b.from, b.to);
                if (t >= b.start + 0.25 && t <= b.end - 0.25)
                    QVERIFY2(
                        changed > 300,
                        qPrintable(
                            QString("cue %1 missing at %2 s (%3 px)").arg(c).arg(t).arg(changed)));
                const bool otherCue = [&] {
                    for (int o = 0; o < 3; ++o)
                        if (o != c && t >= kBands[o].start - 0.05 && t <= kBands[o].end + 0.05 &&
                            kBands[o].from < b.to && kBands[o].to > b.from)
                            return true;
                    return false;
                }();
                if ((t < b.start - 0.05 || t > b.end + 0.05) && !otherCue)
                    QVERIFY2(
                        changed < 20,
                        qPrintable(
                            QString("cue %1 shows at %2 s (%3 px)").arg(c).arg(t).arg(changed)));
            }
        }
    }

    void audioIsCopiedUntouched()
    {
        const QString out = m_dir.filePath("three.mp4");
        QVERIFY(QFile::exists(out));
        QString inCodec, outCodec;
        const auto in = testvideo::audioPackets(m_source, &inCodec);
        const auto composed = testvideo::audioPackets(out, &outCodec);
        QCOMPARE(outCodec, QString("aac"));
        QCOMPARE(outCodec, inCodec);
        QVERIFY(in.size() > 400); // 10 s of 1024-sample AAC frames at 48 kHz
        QCOMPARE(composed.size(), in.size());
        for (qsizetype i = 0; i < in.size(); ++i) {
            QCOMPARE(composed[i].first, in[i].first);
            QCOMPARE(composed[i].second, in[i].second);
        }
    }

    void koreanIsGlyphsNotBoxes()
    {
        const QString korean = QString::fromUtf8("한국어");
        QVERIFY(SubtitleRenderer::fontsCover(korean));
        // U+0378 is unassigned: no font has it, so libass draws the missing-glyph box.
        const QString missing = QString(QChar(0x0378));
        QVERIFY(!SubtitleRenderer::fontsCover(missing));
        QStringList warnings;
        const QByteArray box = mask(missing, &warnings);
        QVERIFY(!box.isEmpty());
        QVERIFY2(warnings.join('\n').contains("U+0378"), qPrintable(warnings.join('\n')));
        QList<QByteArray> glyphs;
        for (const QChar c : korean) {
            glyphs.append(mask(QString(c), &warnings));
            QVERIFY2(warnings.isEmpty(), qPrintable(warnings.join('\n')));
            QVERIFY(!glyphs.last().isEmpty());
            QVERIFY(glyphs.last() != box);
        }
        // Boxes would all be alike; three syllables are three different shapes.
        QVERIFY(glyphs[0] != glyphs[1] && glyphs[1] != glyphs[2] && glyphs[0] != glyphs[2]);
    }

    void backgroundWithoutInput()
    {
        const QString out = m_dir.filePath("background.mp4");
        const auto r =
            run(scenario(
                    R"({"version": "1.3", "cues": [{"start": 0.5, "end": 1.5, "text": "Title"}]})"),
                QString(), out,
                {{"width", 320},
                 {"height", 240},
                 {"fps", 25},
                 {"background", "#FF0000"},
                 {"background_to", "#0000FF"},
                 {"duration", 2}});
        QVERIFY2(r.ok(), r.ok() ? "" : qPrintable(r.error().message));
        MediaInfo info;
        const std::vector<FramePtr> frames = decodeAll(out, &info);
        QCOMPARE(frames.size(), 50);
        QCOMPARE(info.width, 320);
        QCOMPARE(info.height, 240);
        QCOMPARE(info.frameRate.num / info.frameRate.den, 25);
        QVERIFY(!r->audioCopied);
        // Red at the top, blue at the bottom: V (red difference) high above, U high below.
        const AVFrame *f = frames[0].get();
        QVERIFY(f->data[2][2 * f->linesize[2] + 80] > 200);
        QVERIFY(f->data[1][(f->height / 2 - 3) * f->linesize[1] + 80] > 200);
    }

    // The question card template over a black background: the right answer's box turns from
    // blue to green at the reveal (chroma U of its padding: blue high, green low).
    void questionCardHighlightsTheAnswer()
    {
        const QString out = m_dir.filePath("card.mp4");
        const auto r = run(scenario("{\"version\": \"1.3\", \"template\": "
                                    "\"question_card\", \"question\": \"Capital of "
                                    "Korea?\", \"answers\": [\"Busan\", \"Seoul\", "
                                    "\"Incheon\", \"Daegu\"], \"correct\": 1, "
                                    "\"countdown\": 2, \"reveal\": 1}"),
                           QString(), out, {{"width", 640}, {"height", 360}});
        QVERIFY2(r.ok(), r.ok() ? "" : qPrintable(r.error().message));
        const std::vector<FramePtr> frames = decodeAll(out);
        QCOMPARE(int(frames.size()), 135); // 4.5 s at 30 fps
        // Answer B sits at (0.73, 0.42): its box's padding just below the text.
        const int x = int(0.73 * 640) / 2, y = (int(0.42 * 360) + 40) / 2;
        const auto u = [&](int n) {
            return int(frames[n]->data[1][y * frames[n]->linesize[1] + x]);
        };
        QVERIFY2(u(90) > 140, qPrintable(QString::number(u(90))));   // 3.0 s: blue
        QVERIFY2(u(120) < 120, qPrintable(QString::number(u(120)))); // 4.0 s: green
    }

    void unknownFontFallsBackAndSaysSo()
    {
        QStringList log;
        const auto r =
            run(scenario(R"({"version": "1.3", "cues": [{"start": 0, "end": 1,
                               "text": "x", "style": {"font": "No Such Font 123"}}]})"),
                QString(), m_dir.filePath("font.mp4"), {{"width", 160}, {"height", 90}}, &log);
        QVERIFY2(r.ok(), r.ok() ? "" : qPrintable(r.error().message));
        QVERIFY2(log.join('\n').contains(
                     "font 'No Such Font 123' is not installed on this node: its cues use "
                     "'Noto Sans CJK KR' instead"),
                 qPrintable(log.join('\n')));
    }

    void badInputsGiveClearErrors()
    {
        const Scenario s = scenario(kThreeCues);
        // Not a video.
        const QString text = m_dir.filePath("notes.mp4");
        QFile f(text);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write("this is a text file, not a video\n");
        f.close();
        auto r = run(s, text, m_dir.filePath("bad1.mp4"));
        QVERIFY(!r.ok());
        QVERIFY2(r.error().message.contains("notes.mp4 is not a media file"),
                 qPrintable(r.error().message));
        QVERIFY(!QFile::exists(m_dir.filePath("bad1.mp4")));
        // Missing.
        r = run(s, m_dir.filePath("gone.mp4"), m_dir.filePath("bad2.mp4"));
        QVERIFY(!r.ok());
        QVERIFY(r.error().message.contains("gone.mp4"));
        // Truncated, index at the front (+faststart): the frames stop early.
        QFile src(m_source);
        QVERIFY(src.open(QIODevice::ReadOnly));
        const QByteArray bytes = src.readAll();
        const QString cut = m_dir.filePath("cut.mp4");
        QFile c(cut);
        QVERIFY(c.open(QIODevice::WriteOnly));
        c.write(bytes.left(bytes.size() / 2));
        c.close();
        r = run(s, cut, m_dir.filePath("bad3.mp4"));
        QVERIFY(!r.ok());
        QVERIFY2(r.error().message.contains("cut.mp4") && r.error().message.contains("truncated"),
                 qPrintable(r.error().message));
        QVERIFY(!QFile::exists(m_dir.filePath("bad3.mp4")));
        // Truncated, index at the end: the index is gone.
        const QString tail = m_dir.filePath("tail.mp4");
        QVERIFY(testvideo::make(tail, 2.0, 160, 90, 30, false).isEmpty());
        QFile t(tail);
        QVERIFY(t.open(QIODevice::ReadWrite));
        QVERIFY(t.resize(t.size() * 2 / 3));
        t.close();
        r = run(s, tail, m_dir.filePath("bad4.mp4"));
        QVERIFY(!r.ok());
        QVERIFY2(r.error().message.contains("tail.mp4"), qPrintable(r.error().message));
        // Nothing to compose.
        r = run(scenario(R"({"version": "1.3", "cues": []})"), QString(),
                m_dir.filePath("bad5.mp4"));
        QVERIFY(!r.ok());
        QVERIFY(r.error().message.contains("nothing to compose"));
        // Bad settings.
        r = run(s, m_source, m_dir.filePath("bad6.mp4"), {{"fps", 500}});
        QVERIFY(!r.ok());
        QVERIFY(r.error().message.contains("settings.fps"));
        r = run(s, m_source, m_dir.filePath("bad6.mp4"), {{"colour", "#000000"}});
        QVERIFY(!r.ok());
        QVERIFY(r.error().message.contains("settings.colour is not a compose setting"));
    }
};

QTEST_GUILESS_MAIN(TstComposer)
#include "tst_composer.moc"
