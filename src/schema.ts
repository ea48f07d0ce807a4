import { lexicographicSortSchema } from 'graphql';
import { builder } from './builder.js';
// Each module registers its types on the builder when imported.
import './modules/identity/identity.schema.js';
import './modules/community/community.schema.js';
import './modules/search/search.schema.js';
import './modules/listening/listening.schema.js';
import './modules/moderation/moderation.schema.js';
import './modules/activity/activity.schema.js';


/** The whole API, types sorted by name so the printed schema is stable. */
export const schema = lexicographicSortSchema(builder.toSchema());
