#include "framepool.h"

extern "C" {
#include <libavutil/imgutils.h>
}

namespace farm::video {

namespace {
constexpr int kAlign = 64; // what the encoders' SIMD reads like
}

FramePool::FramePool(int width, int height, AVPixelFormat format)
    : m_width(width)
    , m_height(height)
    , m_format(format)
{
    m_size = av_image_get_buffer_size(format, width, height, kAlign);
    if (m_size > 0)
        m_pool = av_buffer_pool_init(size_t(m_size), nullptr);
}

FramePool::~FramePool()
{
    // Buffers still referenced are freed when their last frame goes.
    av_buffer_pool_uninit(&m_pool);
}

Result<FramePtr> FramePool::get()
{
    if (!m_pool)
        return makeError("internal", "cannot size frames of this format");
    FramePtr f(av_frame_alloc());
    if (!f)
        return makeError("internal", "out of memory");
    f->buf[0] = av_buffer_pool_get(m_pool);
    if (!f->buf[0])
        return makeError("internal", "out of memory");
    f->format = m_format;
    f->width = m_width;
    f->height = m_height;
    if (av_image_fill_arrays(f->data, f->linesize, f->buf[0]->data, m_format, m_width, m_height,
                             kAlign) < 0)
        return makeError("internal", "cannot lay out a frame");
    return f;
}

Result<FramePtr> FramePool::copyOf(const AVFrame *src)
{
    auto f = get();
    if (!f)
        return f;
    if (av_frame_copy(f->get(), src) < 0 || av_frame_copy_props(f->get(), src) < 0)
        return makeError("internal", "cannot copy a frame");
    return f;
}

} // namespace farm::video
