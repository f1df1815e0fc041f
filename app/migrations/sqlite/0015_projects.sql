-- Projects. A project is an account like a user's (one namespace of names,
-- as organizations and users share one on most forges), so everything kept
-- per owner (workstations and their unique names, quotas, usage, events)
-- works for it unchanged. Only users sign in: a project has no tokens or
-- sessions, and its members act on it with their roles.
ALTER TABLE users ADD COLUMN kind TEXT NOT NULL DEFAULT 'user' CHECK (kind IN ('user', 'project'));

CREATE TABLE project_members (
    project_id  INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    user_id     INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role        TEXT NOT NULL CHECK (role IN ('viewer', 'member', 'admin', 'owner')),
    added_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    PRIMARY KEY (project_id, user_id)
);
CREATE INDEX project_members_user ON project_members(user_id);

-- A token may be limited to one project: it acts there only, and creates
-- there when a request names no project.
ALTER TABLE api_tokens ADD COLUMN project_id INTEGER REFERENCES users(id) ON DELETE CASCADE;
