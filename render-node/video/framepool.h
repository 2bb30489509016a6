#pragma once

#include "avhandles.h"
#include "util/result.h"

namespace farm::video {

/// Writable frames of one size and pixel format whose buffers are reused once every reference
/// to them is gone (an AVBufferPool): a 1080p frame a frame would otherwise be fresh memory the
/// kernel zeroes page by page. Frames may outlive the pool.
class FramePool
{
public:
    FramePool(int width, int height, AVPixelFormat format);
    ~FramePool();
    FramePool(const FramePool &) = delete;
    FramePool &operator=(const FramePool &) = delete;

    /// A writable frame of the pool's shape (contents undefined).
    Result<FramePtr> get();
    /// A writable copy of `src` (of the pool's shape), with its properties.
    Result<FramePtr> copyOf(const AVFrame *src);

private:
    int m_width, m_height;
    AVPixelFormat m_format;
    int m_size = 0;
    AVBufferPool *m_pool = nullptr;
};

} // namespace farm::video
