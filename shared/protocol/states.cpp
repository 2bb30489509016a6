#include "protocol/states.h"

#include <array>
#include <utility>

namespace farm {
namespace {

template<typename E, std::size_t N>
QString nameOf(const std::array<std::pair<E, const char *>, N> &table, E value)
{
    for (const auto &[e, name] : table)
        if (e == value)
            return QString::fromLatin1(name);
    return {};
}

template<typename E, std::size_t N>
std::optional<E> valueOf(const std::array<std::pair<E, const char *>, N> &table, const QString &s)
{
    for (const auto &[e, name] : table)
        if (s == QLatin1String(name))
            return e;
    return std::nullopt;
}

constexpr std::array<std::pair<JobState, const char *>, 6> kJobStates{{
    {JobState::Queued, "queued"},
    {JobState::Active, "active"},
    {JobState::Completed, "completed"},
    {JobState::Failed, "failed"},
    {JobState::Canceled, "canceled"},
    {JobState::Paused, "paused"},
}};

constexpr std::array<std::pair<TaskState, const char *>, 6> kTaskStates{{
    {TaskState::Queued, "queued"},
    {TaskState::Assigned, "assigned"},
    {TaskState::Running, "running"},
    {TaskState::Done, "done"},
    {TaskState::Failed, "failed"},
    {TaskState::Canceled, "canceled"},
}};

constexpr std::array<std::pair<NodeState, const char *>, 5> kNodeStates{{
    {NodeState::Idle, "idle"},
    {NodeState::Busy, "busy"},
    {NodeState::Draining, "draining"},
    {NodeState::Disabled, "disabled"},
    {NodeState::Offline, "offline"},
}};

} // namespace

QString toString(JobState s)
{
    return nameOf(kJobStates, s);
}
QString toString(TaskState s)
{
    return nameOf(kTaskStates, s);
}
QString toString(NodeState s)
{
    return nameOf(kNodeStates, s);
}
std::optional<JobState> jobStateFromString(const QString &s)
{
    return valueOf(kJobStates, s);
}
std::optional<TaskState> taskStateFromString(const QString &s)
{
    return valueOf(kTaskStates, s);
}
std::optional<NodeState> nodeStateFromString(const QString &s)
{
    return valueOf(kNodeStates, s);
}

bool isFinal(JobState s)
{
    return s == JobState::Completed || s == JobState::Failed || s == JobState::Canceled;
}

bool isFinal(TaskState s)
{
    return s == TaskState::Done || s == TaskState::Failed || s == TaskState::Canceled;
}

bool canTransition(JobState from, JobState to)
{
    if (from == to || isFinal(from))
        return false;
    switch (to) {
    case JobState::Queued:
        return from == JobState::Paused || from == JobState::Active; // resume / all tasks re-queued
    case JobState::Active:
        return from == JobState::Queued || from == JobState::Paused;
    case JobState::Paused:
        return from == JobState::Queued || from == JobState::Active;
    case JobState::Completed:
        return from == JobState::Active || from == JobState::Queued;
    case JobState::Failed:
    case JobState::Canceled:
        return true;
    }
    return false;
}

bool canTransition(TaskState from, TaskState to)
{
    if (from == to || isFinal(from))
        return false;
    switch (to) {
    case TaskState::Queued:
        return from == TaskState::Assigned || from == TaskState::Running; // orphaned or retried
    case TaskState::Assigned:
        return from == TaskState::Queued;
    case TaskState::Running:
        return from == TaskState::Assigned;
    case TaskState::Done:
        return from == TaskState::Running || from == TaskState::Assigned;
    case TaskState::Failed:
        return from == TaskState::Running || from == TaskState::Assigned;
    case TaskState::Canceled:
        return true;
    }
    return false;
}

} // namespace farm
