import { builder, WRITE_ERRORS } from '../../builder.js';
import { EmailDigest, NotificationKind } from '../../generated/prisma/enums.js';
import { UserType } from '../identity/identity.schema.js';
import { NotificationKindEnum } from './notification.schema.js';
import * as preferences from './preferences.js';

// Notification preferences: `viewer { notificationPreferences }` and updateNotificationPreferences.
// The rules are in preferences.ts; the emails they govern in notification-emails.ts.

const EmailDigestEnum = builder.enumType(EmailDigest, {
  name: 'EmailDigest',
  description: 'How your notification emails go out.',
  values: {
    IMMEDIATE: { description: 'One email per notification, as it happens (a grouped one once, when its group starts).' },
    HOURLY: { description: 'At most one email an hour, listing what you have not read yet.' },
    DAILY: { description: 'At most one email a day (UTC), listing what you have not read yet. The default.' },
    NEVER: { description: 'No notification emails at all.' },
  },
});

const KindPreferenceType = builder.objectRef<preferences.KindPreference>('NotificationKindPreference').implement({
  description: 'Where you are told of one kind of notification.',
  fields: (t) => ({
    kind: t.field({ type: NotificationKindEnum, description: 'The kind.', resolve: (p) => p.kind }),
    inApp: t.exposeBoolean('inApp', { description: 'In your notification inbox (and live). Off: they are not shown.' }),
    email: t.exposeBoolean('email', { description: 'By email, as `digest` says. Reactions are off by default, everything else on.' }),
  }),
});

const PreferencesType = builder.objectRef<preferences.Preferences>('NotificationPreferences').implement({
  description: 'Your notification preferences: every kind, and how emails go out.',
  fields: (t) => ({
    kinds: t.field({ type: [KindPreferenceType], description: 'One entry per notification kind.', resolve: (p) => p.kinds }),
    digest: t.field({ type: EmailDigestEnum, description: 'How your notification emails go out.', resolve: (p) => p.digest }),
  }),
});

builder.objectFields(UserType, (t) => ({
  notificationPreferences: t.field({
    type: PreferencesType,
    nullable: true,
    description: 'Your notification preferences (`viewer { notificationPreferences }`); null on any user but you.',
    resolve: (user, _args, ctx) => (ctx.viewer && ctx.viewer.id === user.id ? preferences.preferencesOf(user.id) : null),
  }),
}));

const KindPreferenceInput = builder.inputType('NotificationKindPreferenceInput', {
  description: 'Where to be told of one kind of notification.',
  fields: (t) => ({
    kind: t.field({ type: NotificationKindEnum, required: true, description: 'The kind.' }),
    inApp: t.boolean({ required: true, description: 'In your inbox.' }),
    email: t.boolean({ required: true, description: 'By email.' }),
  }),
});

const UpdatePreferencesInput = builder.inputType('UpdateNotificationPreferencesInput', {
  description: 'What to change; omitted kinds and an omitted digest stay as they are.',
  fields: (t) => ({
    kinds: t.field({
      type: [KindPreferenceInput],
      description: 'Kinds to set (each at most once).',
      extensions: { maxItems: Object.keys(NotificationKind).length },
    }),
    digest: t.field({ type: EmailDigestEnum, description: 'How notification emails go out.' }),
  }),
});

const UpdatePreferencesPayload = builder.simpleObject('UpdateNotificationPreferencesPayload', {
  description: 'Your preferences as they are now.',
  fields: (t) => ({
    preferences: t.field({ type: PreferencesType, description: 'Your preferences as they are now.' }),
  }),
});

builder.mutationField('updateNotificationPreferences', (t) =>
  t.field({
    type: UpdatePreferencesPayload,
    description: 'Signed in. Changes where you are told of each kind of notification, and how emails go out.',
    errors: { types: WRITE_ERRORS },
    args: { input: t.arg({ type: UpdatePreferencesInput, required: true }) },
    resolve: async (_root, { input }, ctx) => ({ preferences: await preferences.updatePreferences(ctx.viewer, input) }),
  }),
);
