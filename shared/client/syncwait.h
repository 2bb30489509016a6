#pragma once

#include "util/result.h"

#include <QEventLoop>

#include <optional>
#include <utility>

namespace farm::client {

/// Runs an event loop until an asynchronous call delivers its result, for command-line tools:
/// `auto job = waitFor<Job>([&](auto cb) { api.getJob(7, cb); });`
template<typename T, typename Start> Result<T> waitFor(Start &&start)
{
    QEventLoop loop;
    std::optional<Result<T>> result;
    start([&](Result<T> r) {
        result.emplace(std::move(r));
        loop.quit();
    });
    if (!result) // the callback may already have run (e.g. a validation error)
        loop.exec();
    return std::move(*result);
}

} // namespace farm::client
