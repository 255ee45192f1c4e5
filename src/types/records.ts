/**
 * The records of the state directory, by kind: the type of each and the
 * schema a record read back must fit. Records keep fields they do not name,
 * so that a record written with more (by a later release of the same version)
 * still reads.
 */
import type { GenericSchema } from 'valibot';

import { type AttachmentRecord, AttachmentRecordSchema } from './attachment';
import { type ContainerRecord, ContainerRecordSchema } from './container';
import { type EndpointRecord, EndpointRecordSchema } from './endpoint';
import { type NetworkLeases, NetworkLeasesSchema } from './leases';
import { type NetworkRecord, NetworkRecordSchema } from './network';
import { type PoolEntryRecord, PoolEntryRecordSchema } from './pool';
import { type PortTable, PortTableSchema } from './ports';
import { Validator } from './schema';

export interface StoredRecords {
  networks: NetworkRecord;
  leases: NetworkLeases;
  endpoints: EndpointRecord;
  containers: ContainerRecord;
  ports: PortTable;
  attachments: AttachmentRecord;
  pool: PoolEntryRecord;
}
export type RecordKind = keyof StoredRecords;

const SCHEMAS: { [K in RecordKind]: GenericSchema } = {
  networks: NetworkRecordSchema,
  leases: NetworkLeasesSchema,
  endpoints: EndpointRecordSchema,
  containers: ContainerRecordSchema,
  ports: PortTableSchema,
  attachments: AttachmentRecordSchema,
  pool: PoolEntryRecordSchema,
};
export const RECORD_KINDS = Object.keys(SCHEMAS) as RecordKind[];

/**
 * The format of every record, written into it as `version`. A record without
 * one was written before records had it, in the format of version 1.
 */
export const RECORD_VERSION = 1;

const validators = new Map(RECORD_KINDS.map((kind) => [kind, new Validator(SCHEMAS[kind])]));

/** The validator of a kind of record. */
export function recordValidator(kind: RecordKind): Validator<GenericSchema> {
  return validators.get(kind) as Validator<GenericSchema>;
}
