#include "sequenceencoder.h"

#include <QFileInfo>
#include <QImageReader>
#include <QThread>

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

namespace farm::video {

namespace {

// Decodes files on worker threads, at most `window` frames ahead of the one taken last.
class FrameLoader
{
public:
    FrameLoader(const QStringList &files, int workers, int window)
        : m_files(files)
        , m_window(window)
    {
        for (int i = 0; i < workers; ++i)
            m_threads.emplace_back([this] { run(); });
    }
    ~FrameLoader()
    {
        {
            std::lock_guard lock(m_mutex);
            m_stop = true;
        }
        m_cv.notify_all();
        for (std::thread &t : m_threads)
            t.join();
    }

    /// Frame `index` (taken in order), or the reason it could not be read.
    Result<QImage> take(qsizetype index)
    {
        std::unique_lock lock(m_mutex);
        m_cv.wait(lock, [&] { return m_done.count(index) > 0; });
        Result<QImage> r = std::move(m_done.at(index));
        m_done.erase(index);
        m_taken = index + 1;
        lock.unlock();
        m_cv.notify_all();
        return r;
    }

private:
    void run()
    {
        for (;;) {
            qsizetype index;
            {
                std::unique_lock lock(m_mutex);
                m_cv.wait(lock, [&] { return m_stop || m_next < m_taken + m_window; });
                if (m_stop || m_next >= m_files.size())
                    return;
                index = m_next++;
            }
            Result<QImage> r = load(m_files.at(index));
            {
                std::lock_guard lock(m_mutex);
                m_done.emplace(index, std::move(r));
            }
            m_cv.notify_all();
        }
    }

    static Result<QImage> load(const QString &path)
    {
        QImageReader reader(path);
        reader.setAutoTransform(false);
        QImage image = reader.read();
        if (image.isNull())
            return makeError("invalid_input",
                             QString("%1 is not an image this node reads (%2)")
                                 .arg(QFileInfo(path).fileName(), reader.errorString()));
        avFormatOf(image); // converts on this thread where FFmpeg needs another layout
        return image;
    }

    const QStringList m_files;
    const qsizetype m_window;
    std::vector<std::thread> m_threads;
    std::mutex m_mutex;
    std::condition_variable m_cv;
    std::map<qsizetype, Result<QImage>> m_done;
    qsizetype m_next = 0;
    qsizetype m_taken = 0;
    bool m_stop = false;
};

} // namespace

AVPixelFormat avFormatOf(QImage &image)
{
    switch (image.format()) {
    case QImage::Format_RGB32:
    case QImage::Format_ARGB32:
        // 0xAARRGGBB words: B, G, R, A bytes on a little-endian machine.
        return Q_BYTE_ORDER == Q_LITTLE_ENDIAN ? AV_PIX_FMT_BGRA : AV_PIX_FMT_ARGB;
    case QImage::Format_RGB888:
        return AV_PIX_FMT_RGB24;
    case QImage::Format_RGBA8888:
    case QImage::Format_RGBX8888:
        return AV_PIX_FMT_RGBA;
    case QImage::Format_RGBA64:
    case QImage::Format_RGBX64:
        return AV_PIX_FMT_RGBA64LE;
    case QImage::Format_Grayscale8:
        return AV_PIX_FMT_GRAY8;
    case QImage::Format_Grayscale16:
        return AV_PIX_FMT_GRAY16LE;
    default:
        image = image.convertToFormat(QImage::Format_RGB32);
        return avFormatOf(image);
    }
}

Result<SequenceResult> encodeImageFiles(const QStringList &files, const QString &output,
                                        EncoderConfig config,
                                        const std::function<void(const QString &)> &log,
                                        const std::function<void(qint64 done)> &progress)
{
    if (files.isEmpty())
        return makeError("invalid_input", "there are no frames to encode");
    // PNG decoding is the one step FFmpeg's own pipeline runs on several frames at once too.
    const int workers =
        qBound(1, config.threads > 0 ? config.threads : QThread::idealThreadCount(), 4);
    FrameLoader loader(files, workers, workers * 2);
    auto first = loader.take(0);
    if (!first)
        return first.error();
    QImage image = std::move(*first);
    const QSize source = image.size();
    QString note;
    const QSize size =
        VideoEncoder::evenSize(source.width(), source.height(), config.settings.pixelFormat, &note);
    if (!note.isEmpty())
        log(note);
    config.width = size.width();
    config.height = size.height();

    auto writer = MediaWriter::create(output);
    if (!writer)
        return writer.error();
    auto encoder = VideoEncoder::open(config, **writer);
    if (!encoder)
        return encoder.error();
    log((*encoder)->choice());
    if (auto r = (*writer)->begin(config.settings.faststart); !r)
        return r.error();

    for (qsizetype i = 0; i < files.size(); ++i) {
        if (i > 0) {
            auto next = loader.take(i);
            if (!next)
                return next.error();
            image = std::move(*next);
            if (image.size() != source)
                return makeError("invalid_input",
                                 QString("%1 is %2x%3, but the first frame (%4) is %5x%6: every "
                                         "frame of a video has one size")
                                     .arg(QFileInfo(files.at(i)).fileName())
                                     .arg(image.width())
                                     .arg(image.height())
                                     .arg(QFileInfo(files.first()).fileName())
                                     .arg(source.width())
                                     .arg(source.height()));
        }
        const AVPixelFormat format = avFormatOf(image);
        if (auto r = (*encoder)->addImage(image.constBits(), image.width(), image.height(),
                                          int(image.bytesPerLine()), format);
            !r)
            return r.error();
        progress(i + 1);
    }
    if (auto r = (*encoder)->finish(); !r)
        return r.error();
    if (auto r = (*writer)->finish(); !r)
        return r.error();
    return SequenceResult{(*encoder)->framesEncoded(), size, (*encoder)->choice()};
}

} // namespace farm::video
