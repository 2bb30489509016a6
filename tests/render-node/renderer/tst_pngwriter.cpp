// encodePng/writePng (our PNG encoder for rendered frames and data passes): every channel count
// and bit depth decodes back to the exact samples with Qt's libpng reader, row strides are
// honoured, invalid input is refused, and write errors are reported.
#include "pngwriter.h"

#include <QImage>
#include <QTemporaryDir>
#include <QTest>

#include <cstring>
#include <random>
#include <vector>

using namespace farm::render;

class TestPngWriter : public QObject
{
    Q_OBJECT

private:
    /// Random samples with flat runs and gradients, like rendered images.
    template<typename T>
    static std::vector<T> samples(int width, int height, int channels, uint32_t seed)
    {
        std::mt19937 rng(seed);
        std::vector<T> v(size_t(width) * size_t(height) * size_t(channels));
        for (size_t i = 0; i < v.size(); ++i) {
            const size_t pixel = i / size_t(channels);
            v[i] = pixel % 7 < 3 ? T(pixel * 13) : T(rng());
        }
        return v;
    }

private slots:
    void roundTrip_data()
    {
        QTest::addColumn<int>("channels");
        QTest::addColumn<int>("bitDepth");
        QTest::newRow("grey8") << 1 << 8;
        QTest::newRow("rgb8") << 3 << 8;
        QTest::newRow("grey16") << 1 << 16;
        QTest::newRow("rgb16") << 3 << 16;
    }

    void roundTrip()
    {
        QFETCH(int, channels);
        QFETCH(int, bitDepth);
        const int w = 37, h = 23;
        const QImage expectedFormat[2][2] = {
            {QImage(1, 1, QImage::Format_Grayscale8), QImage(1, 1, QImage::Format_RGB32)},
            {QImage(1, 1, QImage::Format_Grayscale16), QImage(1, 1, QImage::Format_RGBX64)}};
        QByteArray png;
        std::vector<uint16_t> wide;
        std::vector<uint8_t> narrow;
        if (bitDepth == 16) {
            wide = samples<uint16_t>(w, h, channels, 7);
            png = encodePng({wide.data(), w, h, channels, 16, 0});
        } else {
            narrow = samples<uint8_t>(w, h, channels, 7);
            png = encodePng({narrow.data(), w, h, channels, 8, 0});
        }
        QVERIFY(png.startsWith("\x89PNG\r\n\x1a\n"));
        QImage image;
        QVERIFY(image.loadFromData(png, "png"));
        QCOMPARE(image.size(), QSize(w, h));
        QCOMPARE(image.format(), expectedFormat[bitDepth == 16][channels == 3].format());
        for (int y = 0; y < h; ++y) {
            for (int x = 0; x < w; ++x) {
                const size_t i = (size_t(y) * size_t(w) + size_t(x)) * size_t(channels);
                if (bitDepth == 8 && channels == 1) {
                    QCOMPARE(image.constScanLine(y)[x], narrow[i]);
                } else if (bitDepth == 8) {
                    const QRgb p = image.pixel(x, y);
                    QCOMPARE(qRed(p), int(narrow[i]));
                    QCOMPARE(qGreen(p), int(narrow[i + 1]));
                    QCOMPARE(qBlue(p), int(narrow[i + 2]));
                } else if (channels == 1) {
                    const auto *row = reinterpret_cast<const uint16_t *>(image.constScanLine(y));
                    QCOMPARE(row[x], wide[i]);
                } else {
                    const QRgba64 p = image.pixelColor(x, y).rgba64();
                    QCOMPARE(p.red(), wide[i]);
                    QCOMPARE(p.green(), wide[i + 1]);
                    QCOMPARE(p.blue(), wide[i + 2]);
                }
            }
        }
    }

    void rowStride()
    {
        // Rows 8 bytes apart holding 5 grey pixels: the padding must not leak into the image.
        const int w = 5, h = 3;
        std::vector<uint8_t> padded(8 * h, 0xee);
        for (int y = 0; y < h; ++y)
            for (int x = 0; x < w; ++x)
                padded[size_t(8 * y + x)] = uint8_t(10 * y + x);
        QImage image;
        QVERIFY(image.loadFromData(encodePng({padded.data(), w, h, 1, 8, 8}), "png"));
        QCOMPARE(image.size(), QSize(w, h));
        for (int y = 0; y < h; ++y)
            for (int x = 0; x < w; ++x)
                QCOMPARE(int(image.constScanLine(y)[x]), 10 * y + x);
    }

    void invalidInput()
    {
        const uint8_t pixel[8] = {};
        QVERIFY(encodePng({nullptr, 1, 1, 1, 8, 0}).isEmpty());
        QVERIFY(encodePng({pixel, 0, 1, 1, 8, 0}).isEmpty());
        QVERIFY(encodePng({pixel, 1, -1, 1, 8, 0}).isEmpty());
        QVERIFY(encodePng({pixel, 1, 1, 2, 8, 0}).isEmpty()); // grey + alpha: not written
        QVERIFY(encodePng({pixel, 1, 1, 1, 12, 0}).isEmpty());
        QVERIFY(encodePng({pixel, 2, 1, 1, 8, 1}).isEmpty()); // stride shorter than a row
    }

    void writeFile()
    {
        QTemporaryDir dir;
        const std::vector<uint8_t> grey = samples<uint8_t>(16, 9, 1, 3);
        const QString path = dir.filePath("grey.png");
        QVERIFY(writePng({grey.data(), 16, 9, 1, 8, 0}, path).ok());
        QCOMPARE(QImage(path).size(), QSize(16, 9));
        const farm::Result<void> bad =
            writePng({grey.data(), 16, 9, 1, 8, 0}, dir.filePath("missing/dir/grey.png"));
        QVERIFY(!bad.ok());
        QCOMPARE(bad.error().code, QStringLiteral("write_failed"));
        QVERIFY(!writePng({nullptr, 16, 9, 1, 8, 0}, dir.filePath("null.png")).ok());
        QVERIFY(!QFile::exists(dir.filePath("null.png")));
    }
};

QTEST_GUILESS_MAIN(TestPngWriter)
#include "tst_pngwriter.moc"
