#include "sequenceencoder.h"

#include <QFile>
#include <QFileInfo>
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

// Decodes files (from `first` on) on worker threads and converts them to the video's size and
// format there, at most `window` frames ahead of the one taken last.
class FrameLoader
{
public:
    /// `source`: the first frame's size, which every frame must have.
    FrameLoader(const QStringList &files, qsizetype first, QSize size, AVPixelFormat format,
                int workers, int window, QSize source)
        : m_files(files)
        , m_window(window)
        , m_size(size)
        , m_format(format)
        , m_source(source)
        , m_next(first)
        , m_taken(first)
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
    Result<FramePtr> take(qsizetype index)
    {
        std::unique_lock lock(m_mutex);
        m_cv.wait(lock, [&] { return m_done.count(index) > 0; });
        Result<FramePtr> r = std::move(m_done.at(index));
        m_done.erase(index);
        m_taken = index + 1;
        lock.unlock();
        m_cv.notify_all();
        return r;
    }

private:
    void run()
    {
        FrameScaler scaler;
        for (;;) {
            qsizetype index;
            {
                std::unique_lock lock(m_mutex);
                m_cv.wait(lock, [&] { return m_stop || m_next < m_taken + m_window; });
                if (m_stop || m_next >= m_files.size())
                    return;
                index = m_next++;
            }
            Result<FramePtr> r = decodeImageFile(m_files.at(index));
            if (r && ((*r)->width != m_source.width() || (*r)->height != m_source.height()))
                r = makeError("invalid_input",
                              QString("%1 is %2x%3, but the first frame (%4) is %5x%6: every "
                                      "frame of a video has one size")
                                  .arg(QFileInfo(m_files.at(index)).fileName())
                                  .arg((*r)->width)
                                  .arg((*r)->height)
                                  .arg(QFileInfo(m_files.first()).fileName())
                                  .arg(m_source.width())
                                  .arg(m_source.height()));
            else if (r)
                r = scaler.scaled(r->get(), m_size.width(), m_size.height(), m_format);
            {
                std::lock_guard lock(m_mutex);
                m_done.emplace(index, std::move(r));
            }
            m_cv.notify_all();
        }
    }

    const QStringList m_files;
    const qsizetype m_window;
    const QSize m_size;
    const AVPixelFormat m_format;
    const QSize m_source;
    std::vector<std::thread> m_threads;
    std::mutex m_mutex;
    std::condition_variable m_cv;
    std::map<qsizetype, Result<FramePtr>> m_done;
    qsizetype m_next = 0;
    qsizetype m_taken = 0;
    bool m_stop = false;
};

} // namespace

Result<FramePtr> decodeImageFile(const QString &path)
{
    const QString name = QFileInfo(path).fileName();
    const QString ext = QFileInfo(path).suffix().toLower();
    const AVCodecID id = ext == "png"                    ? AV_CODEC_ID_PNG
                         : ext == "jpg" || ext == "jpeg" ? AV_CODEC_ID_MJPEG
                                                         : AV_CODEC_ID_NONE;
    if (id == AV_CODEC_ID_NONE)
        return makeError("invalid_input",
                         QString("%1 is not a PNG or JPEG frame (by its extension)").arg(name));
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        return makeError("invalid_input", QString("cannot read %1").arg(name));
    QByteArray bytes = file.readAll();
    // Decoders may read a little past the end: libavcodec asks for zeroed padding.
    const qsizetype size = bytes.size();
    bytes.append(QByteArray(AV_INPUT_BUFFER_PADDING_SIZE, '\0'));
    const AVCodec *codec = avcodec_find_decoder(id);
    CodecContextPtr ctx(codec ? avcodec_alloc_context3(codec) : nullptr);
    PacketPtr packet(av_packet_alloc());
    FramePtr frame(av_frame_alloc());
    if (!ctx || !packet || !frame || avcodec_open2(ctx.get(), codec, nullptr) < 0)
        return makeError("internal", QString("cannot set up a decoder for %1").arg(name));
    packet->data = reinterpret_cast<uint8_t *>(bytes.data());
    packet->size = int(size);
    int rc = avcodec_send_packet(ctx.get(), packet.get());
    if (rc >= 0)
        rc = avcodec_receive_frame(ctx.get(), frame.get());
    if (rc == AVERROR(EAGAIN)) { // the whole file is the one packet: drain
        avcodec_send_packet(ctx.get(), nullptr);
        rc = avcodec_receive_frame(ctx.get(), frame.get());
    }
    if (rc < 0 || frame->width < 1 || frame->height < 1)
        return makeError("invalid_input",
                         QString("%1 is not an image this node reads (%2)")
                             .arg(name, rc < 0 ? avErrorText(rc) : QString("no picture in it")));
    return frame;
}

Result<SequenceResult> encodeImageFiles(const QStringList &files, const QString &output,
                                        EncoderConfig config,
                                        const std::function<void(const QString &)> &log,
                                        const std::function<void(qint64 done)> &progress)
{
    if (files.isEmpty())
        return makeError("invalid_input", "there are no frames to encode");
    // The first frame gives the video its size.
    auto first = decodeImageFile(files.first());
    if (!first)
        return first.error();
    const QSize source((*first)->width, (*first)->height);
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

    // Decoding and converting run on workers, as the ffmpeg command runs its PNG decoder on
    // several frames at once; the encoder gets frames ready to encode.
    const int workers =
        qBound(1, config.threads > 0 ? config.threads : QThread::idealThreadCount(), 4);
    std::unique_ptr<FrameLoader> loader;
    for (qsizetype i = 0; i < files.size(); ++i) {
        FramePtr frame;
        if (i == 0) {
            frame = std::move(*first);
        } else {
            if (!loader) {
                loader = std::make_unique<FrameLoader>(files, 1, size, (*encoder)->pixelFormat(),
                                                       workers, workers * 2, source);
            }
            auto next = loader->take(i);
            if (!next)
                return next.error();
            frame = std::move(*next);
        }
        if (auto r = (*encoder)->addFrame(frame.get()); !r)
            return r.error();
        progress(i + 1);
    }
    loader.reset();
    if (auto r = (*encoder)->finish(); !r)
        return r.error();
    if (auto r = (*writer)->finish(); !r)
        return r.error();
    return SequenceResult{(*encoder)->framesEncoded(), size, (*encoder)->choice()};
}

} // namespace farm::video
