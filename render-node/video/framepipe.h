#pragma once

#include "avhandles.h"
#include "util/result.h"

#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <vector>

namespace farm::video {

/// A frame ready to encode (null: none) and the audio packets read before it, handed from the
/// compose engine's drawing thread to its encoder.
struct FrameItem
{
    FramePtr frame;
    std::vector<PacketPtr> packets;
};

/// A bounded queue of Items between one producer and one consumer thread.
class FramePipe
{
public:
    explicit FramePipe(size_t capacity)
        : m_capacity(capacity)
    {}
    /// False when the consumer has stopped.
    bool push(FrameItem item)
    {
        std::unique_lock lock(m_mutex);
        m_cv.wait(lock, [&] { return m_stopped || m_items.size() < m_capacity; });
        if (m_stopped)
            return false;
        m_items.push_back(std::move(item));
        m_cv.notify_all();
        return true;
    }
    /// The next item; nullopt at the end (then result() says how the producer ended).
    std::optional<FrameItem> pop()
    {
        std::unique_lock lock(m_mutex);
        m_cv.wait(lock, [&] { return !m_items.empty() || m_done; });
        if (m_items.empty())
            return std::nullopt;
        FrameItem i = std::move(m_items.front());
        m_items.pop_front();
        m_cv.notify_all();
        return i;
    }
    void finish(Result<void> r)
    {
        std::lock_guard lock(m_mutex);
        m_result = std::move(r);
        m_done = true;
        m_cv.notify_all();
    }
    void stop()
    {
        std::lock_guard lock(m_mutex);
        m_stopped = true;
        m_cv.notify_all();
    }
    Result<void> result()
    {
        std::lock_guard lock(m_mutex);
        return m_result;
    }

private:
    const size_t m_capacity;
    std::mutex m_mutex;
    std::condition_variable m_cv;
    std::deque<FrameItem> m_items;
    Result<void> m_result;
    bool m_done = false;
    bool m_stopped = false;
};

} // namespace farm::video
