#pragma once

#include <QString>

#include <optional>

namespace farm {

inline constexpr int kProtocolVersion = 1;
inline constexpr const char *kFarmVersion = "0.1.0";
inline constexpr int kDefaultPort = 8420;

enum class JobState { Queued, Active, Completed, Failed, Canceled, Paused };
enum class TaskState { Queued, Assigned, Running, Done, Failed, Canceled };
enum class NodeState { Idle, Busy, Draining, Disabled, Offline };

QString toString(JobState s);
QString toString(TaskState s);
QString toString(NodeState s);
std::optional<JobState> jobStateFromString(const QString &s);
std::optional<TaskState> taskStateFromString(const QString &s);
std::optional<NodeState> nodeStateFromString(const QString &s);

/// Final states never change again.
bool isFinal(JobState s);
bool isFinal(TaskState s);

/// The legal transitions of DESIGN.md's state machines; everything else is refused.
bool canTransition(JobState from, JobState to);
bool canTransition(TaskState from, TaskState to);

} // namespace farm
