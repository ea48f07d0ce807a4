import { lexicographicSortSchema } from 'graphql';
import { builder } from './builder.js';
import { describeBoilerplate } from './schema-docs.js';
import { checkNodeRules } from './nodes.js';
// Each module registers its types on the builder when imported.
import './modules/identity/identity.schema.js';
import './modules/community/community.schema.js';
import './modules/members/read-state.schema.js';
import './modules/members/mutes.schema.js';
import './modules/search/search.schema.js';
import './modules/listening/brands.schema.js';
import './modules/listening/sources.schema.js';
import './modules/listening/mentions.schema.js';
import './modules/listening/report.schema.js';
import './modules/listening/alerts.schema.js';
import './modules/moderation/moderation.schema.js';
import './modules/moderation/queue.schema.js';
import './modules/moderation/automod-rules.schema.js';
import './modules/support/support.schema.js';
import './modules/support/cases.schema.js';
import './modules/support/routing.schema.js';
import './modules/support/attention.schema.js';
import './modules/support/metrics.schema.js';
import './modules/activity/activity.schema.js';
import './modules/community/deletion.schema.js';
import './modules/members/profiles.schema.js';
import './modules/mail/mail.schema.js';
import './modules/members/follow.schema.js';
import './modules/members/notification.schema.js';
import './modules/members/mentions.schema.js';
import './modules/members/preferences.schema.js';
import './modules/participation/signals.schema.js';
import './modules/participation/reputation.schema.js';
import './modules/participation/segments.schema.js';
import './modules/participation/routing.schema.js';
import './modules/participation/badges.schema.js';
import './modules/participation/leaderboard.schema.js';
import './modules/participation/trust.schema.js';


/** The whole API, boilerplate described, types sorted by name so the printed schema is stable. */
export const schema = checkNodeRules(lexicographicSortSchema(describeBoilerplate(builder.toSchema())));
