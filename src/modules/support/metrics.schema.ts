import { builder } from '../../builder.js';
import { prisma } from '../../db/client.js';
import { decodeId } from '../../ids.js';
import { CaseStatusEnum, SlaMetricEnum } from './cases.schema.js';
import * as metrics from './metrics.js';
import { DepartmentType } from './support.schema.js';

const DurationStatsType = builder.objectRef<metrics.DurationStats>('DurationStats').implement({
  description: 'Wall-clock minutes from opening, over the cases that got there.',
  fields: (t) => ({
    count: t.exposeInt('count', { description: 'Cases that got there.' }),
    medianMinutes: t.exposeFloat('medianMinutes', { nullable: true, description: 'Half the cases took at most this long; null when count is 0.' }),
    p90Minutes: t.exposeFloat('p90Minutes', { nullable: true, description: '90% of the cases took at most this long; null when count is 0.' }),
  }),
});

const SlaComplianceType = builder.objectRef<metrics.SupportMetrics['slaCompliance'][number]>('SlaCompliance').implement({
  description: 'Decided clocks of one metric: met (stopped in time) and breached; ratio = met / (met + breached).',
  fields: (t) => ({
    metric: t.field({ type: SlaMetricEnum, description: 'The SLA clock counted.', resolve: (row) => row.metric }),
    met: t.exposeInt('met', { description: 'Clocks stopped before they ran out.' }),
    breached: t.exposeInt('breached', { description: 'Clocks that ran out, stopped or not.' }),
    ratio: t.exposeFloat('ratio', { nullable: true, description: 'met / (met + breached), 0 to 1; null when none is decided yet.' }),
  }),
});

const StatusCountType = builder.objectRef<metrics.SupportMetrics['backlog'][number]>('CaseStatusCount').implement({
  description: 'How many cases have one status now.',
  fields: (t) => ({
    status: t.field({ type: CaseStatusEnum, description: 'The status counted.', resolve: (row) => row.status }),
    count: t.exposeInt('count', { description: 'Cases in that status now.' }),
  }),
});

const CsatType = builder.objectRef<metrics.SupportMetrics['csat']>('CustomerSatisfaction').implement({
  description: 'Requester ratings (CSAT) of the cases opened in the period.',
  fields: (t) => ({
    good: t.exposeInt('good', { description: 'Cases rated GOOD.' }),
    bad: t.exposeInt('bad', { description: 'Cases rated BAD.' }),
    ratio: t.exposeFloat('ratio', { nullable: true, description: 'good / (good + bad); null without ratings.' }),
  }),
});

const SupportMetricsType = builder.objectRef<metrics.SupportMetrics>('SupportMetrics').implement({
  description: 'For the cases opened in [from, to); the backlog is as of now.',
  fields: (t) => ({
    from: t.expose('from', { type: 'DateTime', description: 'Start of the period, inclusive.' }),
    to: t.expose('to', { type: 'DateTime', description: 'End of the period, exclusive.' }),
    department: t.field({
      type: DepartmentType,
      nullable: true,
      description: 'The department measured (cases that are in it now); null: every department.',
      resolve: (m) => (m.departmentId === null ? null : prisma().department.findUnique({ where: { id: m.departmentId } })),
    }),
    firstResponse: t.field({ type: DurationStatsType, description: 'Time to the first public reply of staff.', resolve: (m) => m.firstResponse }),
    resolution: t.field({ type: DurationStatsType, description: 'Time to RESOLVED or CLOSED.', resolve: (m) => m.resolution }),
    slaCompliance: t.field({ type: [SlaComplianceType], description: 'One entry per SlaMetric.', resolve: (m) => m.slaCompliance }),
    backlog: t.field({ type: [StatusCountType], description: 'Cases per status now, whenever opened; every status listed.', resolve: (m) => m.backlog }),
    reassignments: t.exposeInt('reassignments', { description: 'Assignments, in the period, of cases that had been assigned before.' }),
    csat: t.field({ type: CsatType, description: 'Ratings of the cases opened in the period.', resolve: (m) => m.csat }),
  }),
});

builder.queryField('supportMetrics', (t) =>
  t.field({
    type: SupportMetricsType,
    description: 'Managers and admins: any department or all. Agents: one of their departments.',
    args: {
      from: t.arg({ type: 'DateTime', required: true, description: 'Start of the period, inclusive.' }),
      to: t.arg({ type: 'DateTime', required: true, description: 'End of the period, exclusive.' }),
      departmentId: t.arg.id({ description: 'The Department to measure; omitted: every department (managers and admins only).' }),

    },
    resolve: (_root, args, ctx) =>
      metrics.supportMetrics(ctx.viewer, {
        from: args.from,
        to: args.to,
        departmentId: args.departmentId ? decodeId(args.departmentId, ['Department'], 'departmentId').id : undefined,
      }),
  }),
);
