#pragma once

#include "jobtypes/jobtype.h"

#include <QList>

namespace farm::server {

/// Job types by name. The built-in ones are registered at start; more can be declared in JSON
/// files (`farm-server --job-types DIR`, docs/JOBTYPES.md).
class JobTypeRegistry
{
public:
    /// model, templates, blender (model and blender with settings.video), encode and compose.
    static JobTypeRegistry builtin();
    /// One shared copy of builtin(), for parts that are given no registry of their own.
    static const JobTypeRegistry &standard();

    /// Fails when a type of that name exists or the type is incomplete.
    Result<void> add(JobType type);
    /// Loads every DIR/*.json declaration; fails on the first bad file, naming it.
    Result<int> loadDirectory(const QString &dir);
    /// A type from its JSON declaration: {name, label, description, engine, extensions, frames,
    /// compile: "chunks" | "single", schema}.
    static Result<JobType> fromDeclaration(const QJsonObject &o);

    const JobType *find(const QString &name) const;
    const QList<JobType> &types() const { return m_types; }
    QStringList names() const;

    /// Validates what depends on the type: it exists, frames/chunk apply, the main file's
    /// extension, the settings against the schema (defaults filled in), the type's own rules.
    /// Returns the spec as it is stored and sent to nodes.
    Result<JobSpec> validate(JobSpec spec) const;
    /// The type's checks of its input files' contents (the compose scenario), once the
    /// bundle is whole; `read` gives a bundle file's bytes.
    Result<void> checkInput(const JobSpec &spec, const JobType::ReadInput &read) const;
    /// The type's compiler; `spec` must have passed validate(). `file` locates the input's
    /// files for types that read them (JobType::compileInput); without it they are not read.
    Result<QList<TaskPlan>> compile(const JobSpec &spec, const JobType::InputFile &file = {}) const;
    /// What task `task` of a job runs as when it is not one of its type's own tasks (the
    /// encode task of a job with settings.video).
    std::optional<TaskRole> taskRole(const JobSpec &spec, const Task &task) const;
    /// The settings task.assign carries for `task`: its role's, else the type's frame task
    /// settings (the job's, without what only the server reads).
    QJsonObject taskSettings(const JobSpec &spec, const Task &task) const;
    /// The engine a task needs: its role's, else its job type's; empty for an unknown type.
    QString engineFor(const JobSpec &spec, const Task &task) const;
    /// The frame whose main image `output` is, for the job type `type`.
    std::optional<int> completedFrame(const QString &type, const QString &output) const;

private:
    QList<JobType> m_types;
};

} // namespace farm::server
